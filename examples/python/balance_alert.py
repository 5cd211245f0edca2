"""Prints an alert whenever an account's balance drops below a threshold, live, resuming after any drop.

    python3 examples/python/balance_alert.py --url ws://127.0.0.1:8080/ws --user alice \
        --password alice-demo-2026 --below 100.00 [--account 1001] [--count N]
"""
import argparse
import asyncio
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
import bankhub  # noqa: E402


def cents(text: str) -> int:
    """Money is a decimal string with two decimals on the wire; compare it as integer cents."""
    return int(Decimal(text) * 100)


async def main(args) -> None:
    async with bankhub.connect(args.url) as hub:
        await hub.login(args.user, args.password)
        account = args.account or (await hub.call("accounts"))["accounts"][0]["id"]
        threshold = cents(args.below)
        print(f"watching account {account}: alert below {args.below}", flush=True)
        seen = 0
        async for event in hub.subscribe(f"account:{account}"):
            if event["event"] != "balance":
                continue
            balance = event["data"]["balance"]
            if cents(balance) < threshold:
                print(f"ALERT account {account} balance {balance} is below {args.below} (seq {event['seq']})",
                      flush=True)
            else:
                print(f"ok account {account} balance {balance} (seq {event['seq']})", flush=True)
            seen += 1
            if args.count and seen >= args.count:
                return


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8080/ws")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--account")
    parser.add_argument("--below", required=True, help="threshold, e.g. 100.00")
    parser.add_argument("--count", type=int, default=0, help="stop after this many balance events (0: never)")
    asyncio.run(main(parser.parse_args()))
