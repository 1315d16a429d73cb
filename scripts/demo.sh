#!/usr/bin/env bash
# The main job on the order example: lint it, generate its typed module, draw
# it, run instances on SQLite through a crash and a resume, and let a worker
# cancel an order nobody paid for.
# Everything it writes goes to out/ (ignored by git).
source "$(dirname "$0")/bootstrap.sh"
mkdir -p out

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "wfdsl lint examples/"
wfdsl lint examples/

step "wfdsl compile examples/order.wf -o out/order_wf.py"
wfdsl compile examples/order.wf -o out/order_wf.py
head -n 12 out/order_wf.py

step "wfdsl render examples/order.wf -o out/order.svg (and .png)"
wfdsl render examples/order.wf -o out/order.svg
wfdsl render examples/order.wf -o out/order.png
ls -l out/order.svg out/order.png

step "python examples/order_app.py --db out/orders.db"
rm -f out/orders.db out/orders.db-wal out/orders.db-shm
python examples/order_app.py --db out/orders.db

step "wfdsl timers --db out/orders.db  (o-8 was placed 31 minutes ago, unpaid)"
wfdsl timers --db out/orders.db

step "wfdsl worker ... --until-idle  (fires the overdue timer, then stops)"
ORDER_LEDGER=out/orders.ledger.db wfdsl worker --spec examples/order.wf \
    --hooks examples/order_hooks.py:OrderHooks --db out/orders.db --until-idle

step "wfdsl instances --db out/orders.db"
wfdsl instances --db out/orders.db
