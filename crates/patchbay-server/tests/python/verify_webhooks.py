"""Verifies webhook signatures with the Standard Webhooks reference library.

Reads `{"secret": "whsec_...", "webhooks": [{"id", "timestamp", "signature",
"body"}]}` on stdin, checks every one, and exits non-zero on the first that
does not verify. Used by Patchbay's webhook tests as an implementation
independent of the server's.
"""

import json
import sys
import time

from standardwebhooks.webhooks import Webhook


def main() -> int:
    document = json.load(sys.stdin)
    webhook = Webhook(document["secret"])
    now = int(time.time())
    for received in document["webhooks"]:
        # The library refuses timestamps more than five minutes away from now;
        # the test ran just before, so they are recent.
        assert abs(now - int(received["timestamp"])) < 300
        headers = {
            "webhook-id": received["id"],
            "webhook-timestamp": received["timestamp"],
            "webhook-signature": received["signature"],
        }
        payload = webhook.verify(received["body"], headers)
        assert payload == json.loads(received["body"])
    # A tampered body must fail, or the check above proves nothing.
    first = document["webhooks"][0]
    try:
        webhook.verify(
            first["body"] + " ",
            {
                "webhook-id": first["id"],
                "webhook-timestamp": first["timestamp"],
                "webhook-signature": first["signature"],
            },
        )
    except Exception:
        print(f"verified {len(document['webhooks'])} webhooks")
        return 0
    print("a tampered body verified", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
