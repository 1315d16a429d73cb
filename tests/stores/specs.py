"""Specs the store tests share."""

#: Three states in a cycle on one event, nothing else.
LIGHT = """workflow light {
    initial state green
    state yellow
    state red
    event next
    green -> yellow on next
    yellow -> red on next
    red -> green on next
}"""
