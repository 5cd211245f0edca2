"""Sweeps money above a threshold from one account to another as it arrives.

Each balance event above the threshold triggers one transfer of the excess. The idempotency key is derived from
the event's seq, so a sweep retried after a reconnect (or by a second copy of this bot) never moves money twice.

    python3 examples/python/auto_sweep.py --url ws://127.0.0.1:8080/ws --user alice \
        --password alice-demo-2026 --from 1001 --to 1002 --keep 500.00 [--count N]
"""
import argparse
import asyncio
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
import bankhub  # noqa: E402


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


def money(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


async def main(args) -> None:
    async with bankhub.connect(args.url) as hub:
        await hub.login(args.user, args.password)
        keep = cents(args.keep)
        print(f"sweeping account {args.source} above {args.keep} into {args.target}", flush=True)
        sweeps = 0
        # Events arrive in commit order. After a sweep, the reply's balance already includes every event
        # committed before it, so the events up to the sweep's own are stale and are skipped.
        sweep_txn = None
        async for event in hub.subscribe(f"account:{args.source}"):
            if event["event"] != "balance":
                continue
            if sweep_txn is not None:
                if event["data"].get("txn") == sweep_txn:
                    sweep_txn = None
                continue
            balance = cents(event["data"]["balance"])
            round_ = 0
            while balance > keep:
                excess = balance - keep
                key = f"sweep-{args.source}-{event['seq']}-{round_}"
                round_ += 1
                try:
                    result = await hub.call("transfer", {"from": args.source, "to": args.target,
                                                         "amount": money(excess), "note": "auto sweep",
                                                         "idempotency_key": key})
                except bankhub.Error as error:
                    print(f"sweep of {money(excess)} refused: {error.code} {error.message}", flush=True)
                    break
                print(f"swept {money(excess)} (txn {result['txn']['id']}, balance now {result['balance']})",
                      flush=True)
                balance = cents(result["balance"])
                sweep_txn = result["txn"]["id"]
                sweeps += 1
            if args.count and sweeps >= args.count:
                return


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8080/ws")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--from", dest="source", required=True)
    parser.add_argument("--to", dest="target", required=True)
    parser.add_argument("--keep", required=True, help="balance to keep, e.g. 500.00")
    parser.add_argument("--count", type=int, default=0, help="stop after this many sweeps (0: never)")
    asyncio.run(main(parser.parse_args()))
