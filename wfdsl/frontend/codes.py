"""Errors WF100–WF114: the spec is invalid. Found by the parser and
:mod:`wfdsl.frontend.validate`; never suppressible. Documented here, like every
rule; the lint registry (:mod:`wfdsl.lint.base`) lists them from :data:`ERRORS`."""

from __future__ import annotations

from wfdsl.diagnostics import Rule, Severity


class ErrorRule(Rule):
    severity = Severity.ERROR


class SyntaxError_(ErrorRule):
    """## What it does
    Reports source the grammar cannot parse: a missing `->`, an unbalanced
    brace, an unterminated description, a stray character, a keyword used as a
    name, or an unknown escape in a description.

    ## Why is this bad?
    Nothing else can be checked or run until the file parses. The message says
    what was found and what was expected at that point.

    ## Example
    ```
    workflow order {
        initial state created
        created paid on pay
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state paid
        event pay
        created -> paid on pay
    }
    ```
    """

    code = "WF100"
    name = "syntax-error"


class UndefinedState(ErrorRule):
    """## What it does
    Reports a transition that names a state that is not declared.

    ## Why is this bad?
    The runtime could never enter or leave a state that does not exist; it is
    almost always a typo, so the message suggests the closest declared name.

    ## Example
    ```
    workflow order {
        initial state created
        final state shipped
        event ship
        created -> shiped on ship
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state shipped
        event ship
        created -> shipped on ship
    }
    ```
    """

    code = "WF101"
    name = "undefined-state"


class UndefinedEvent(ErrorRule):
    """## What it does
    Reports a transition triggered by an event that is not declared.

    ## Why is this bad?
    Events are the workflow's public interface: declaring them makes the set
    that callers may send explicit, and a misspelt event would never fire.

    ## Example
    ```
    workflow order {
        initial state created
        final state paid
        event pay
        created -> paid on payed
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state paid
        event pay
        created -> paid on pay
    }
    ```
    """

    code = "WF102"
    name = "undefined-event"


class DuplicateState(ErrorRule):
    """## What it does
    Reports a state declared more than once.

    ## Why is this bad?
    Two declarations could disagree on hooks, descriptions or modifiers, and no
    reader can tell which one is meant.

    ## Example
    ```
    workflow order {
        initial state created
        final state done
        final state done
        event finish
        created -> done on finish
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state done
        event finish
        created -> done on finish
    }
    ```
    """

    code = "WF103"
    name = "duplicate-state"


class DuplicateEvent(ErrorRule):
    """## What it does
    Reports an event declared more than once.

    ## Why is this bad?
    A second declaration is at best noise and at worst carries a conflicting
    description.

    ## Example
    ```
    workflow order {
        initial state created
        final state done
        event finish
        event finish "Finish the order"
        created -> done on finish
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state done
        event finish "Finish the order"
        created -> done on finish
    }
    ```
    """

    code = "WF104"
    name = "duplicate-event"


class MissingInitial(ErrorRule):
    """## What it does
    Reports a workflow with no `initial` state.

    ## Why is this bad?
    `start` puts a new instance in the initial state; without one there is
    nowhere to start.

    ## Example
    ```
    workflow order {
        state created
        final state done
        event finish
        created -> done on finish
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state done
        event finish
        created -> done on finish
    }
    ```
    """

    code = "WF105"
    name = "missing-initial"


class MultipleInitial(ErrorRule):
    """## What it does
    Reports a workflow with more than one `initial` state.

    ## Why is this bad?
    An instance starts in exactly one state; two candidates make `start`
    ambiguous.

    ## Example
    ```
    workflow order {
        initial state created
        initial state imported
        final state done
        event finish
        created, imported -> done on finish
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        state imported
        final state done
        event finish, import
        created -> imported on import
        imported -> done on finish
    }
    ```
    """

    code = "WF106"
    name = "multiple-initial"


class TransitionFromFinal(ErrorRule):
    """## What it does
    Reports a transition whose source is a `final` state.

    ## Why is this bad?
    A final state ends the instance: nothing may leave it. If the flow really
    continues, the state is not final.

    ## Example
    ```
    workflow order {
        initial state created
        final state done
        event finish, reopen
        created -> done on finish
        done -> created on reopen
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        state done
        final state archived
        event finish, reopen, archive
        created -> done on finish
        done -> created on reopen
        done -> archived on archive
    }
    ```
    """

    code = "WF107"
    name = "transition-from-final"


class InitialIsFinal(ErrorRule):
    """## What it does
    Reports a state that is both `initial` and `final`.

    ## Why is this bad?
    An instance would be finished the moment it starts; no event could ever
    apply to it.

    ## Example
    ```
    workflow noop {
        initial final state only
    }
    ```

    ## Use instead
    ```
    workflow noop {
        initial state waiting
        final state done
        event finish
        waiting -> done on finish
    }
    ```
    """

    code = "WF108"
    name = "initial-is-final"


class GeneratedNameCollision(ErrorRule):
    """## What it does
    Reports two state names, or two event names, that become the same member
    of the generated `State` or `Event` enum (for example `paid` and `Paid`,
    both `PAID`).

    ## Why is this bad?
    The generated module could not define both; one would silently replace
    the other.

    ## Example
    ```
    workflow order {
        initial state paid
        final state Paid
        event settle
        paid -> Paid on settle
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state paid
        final state settled
        event settle
        paid -> settled on settle
    }
    ```
    """

    code = "WF109"
    name = "generated-name-collision"


class InvalidPythonName(ErrorRule):
    """## What it does
    Reports a guard or hook name that cannot be a Python method name: a
    Python keyword (`class`, `pass`, `import`, `True`...).

    ## Why is this bad?
    Guards and hooks become methods of the generated `Hooks` protocol and of
    the hooks object the runtime binds; such a name cannot be defined there.

    ## Example
    ```
    workflow order {
        initial state created {
            enter import
        }
        final state done
        event finish
        created -> done on finish
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created {
            enter import_order
        }
        final state done
        event finish
        created -> done on finish
    }
    ```
    """

    code = "WF110"
    name = "invalid-python-name"


class GuardHookClash(ErrorRule):
    """## What it does
    Reports a name used both as a guard and as a hook or compensator.

    ## Why is this bad?
    A guard returns `bool` and must not have side effects; a hook returns
    nothing and does work. One method cannot be both.

    ## Example
    ```
    workflow order {
        initial state created
        final state paid {
            enter card_valid
        }
        event pay
        created -> paid on pay if card_valid
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state paid {
            enter charge_card
        }
        event pay
        created -> paid on pay if card_valid
    }
    ```
    """

    code = "WF111"
    name = "guard-hook-clash"


class DuplicateTransition(ErrorRule):
    """## What it does
    Reports a transition written twice: the same sources, event, guard and
    target.

    ## Why is this bad?
    The second copy can never fire and usually hides an edit that was meant to
    change one of them.

    ## Example
    ```
    workflow order {
        initial state created
        final state paid
        event pay
        created -> paid on pay
        created -> paid on pay
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state paid
        event pay
        created -> paid on pay
    }
    ```
    """

    code = "WF112"
    name = "duplicate-transition"


class DuplicateStateItem(ErrorRule):
    """## What it does
    Reports `enter`, `exit` or `compensate` given twice in one state.

    ## Why is this bad?
    The order of hooks matters; splitting one list over two lines hides it.
    List every name once, in the order they should run.

    ## Example
    ```
    workflow order {
        initial state created
        final state paid {
            enter charge_card
            enter send_receipt
        }
        event pay
        created -> paid on pay
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state paid {
            enter charge_card, send_receipt
        }
        event pay
        created -> paid on pay
    }
    ```
    """

    code = "WF113"
    name = "duplicate-state-item"


class InvalidDuration(ErrorRule):
    """## What it does
    Reports a timed transition's duration that is not one or more
    `<digits><unit>` pieces (units `d h m s ms`), largest unit first, each
    once, with no spaces; or that is zero, or longer than 3650 days. The
    message names the piece at fault (`unit 'h' after 'm': write larger units
    first`, `unknown unit 'x' in duration '90x'`) and the hint gives the
    duration written right where it can.

    ## Why is this bad?
    A duration decides when an instance moves on by itself. One way to write
    each keeps `1h30m` from also appearing as `30m1h` or `90m0s` in reviews,
    and a typo (`90x`, `1.5h`, `30 m`) must never become some other time. A
    zero timer would fire the moment the state is entered; more than ten
    years is surely a slip of the keyboard.

    ## Example
    ```
    workflow order {
        initial state created
        final state expired
        created -> expired after 30m1h
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state expired
        created -> expired after 1h30m
    }
    ```
    """

    code = "WF114"
    name = "invalid-duration"


#: Every error code, in code order.
ERRORS: tuple[type[ErrorRule], ...] = (
    SyntaxError_,
    UndefinedState,
    UndefinedEvent,
    DuplicateState,
    DuplicateEvent,
    MissingInitial,
    MultipleInitial,
    TransitionFromFinal,
    InitialIsFinal,
    GeneratedNameCollision,
    InvalidPythonName,
    GuardHookClash,
    DuplicateTransition,
    DuplicateStateItem,
    InvalidDuration,
)
