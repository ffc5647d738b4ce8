"""Benchmark: import a generated 1,000,000-row contact list with full validation.

The list has Dutch numbers in the formats people actually type (national, international, with
spaces and dashes), about 1 % unusable rows and some duplicates. Prints one JSON line:

    {"benchmark": "list_import", "rows": 1000000, "seconds": …, "rows_per_second": …, "rejected": …}

Run: ``.venv/bin/python benchmarks/list_import.py [--rows N] [--workers N]``
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import tempfile
import time
from pathlib import Path

from centrale.outbound.lists import ListImporter
from centrale.outbound.mapping import ColumnMapping

_FIRST = (
    "Anna",
    "Bram",
    "Chantal",
    "Daan",
    "Emma",
    "Finn",
    "Ilse",
    "Jan",
    "Kees",
    "Lotte",
    "Mohamed",
    "Noor",
)
_LAST = ("de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "Yılmaz")
_BAD = ("", "n/a", "06-123", "0000", "+999 123 456", "12345678901234567890123", "onbekend")


def _number(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.6:  # mobile, national format in several spellings
        digits = f"{rng.choice('123458')}{rng.randrange(1_000_000, 10_000_000)}"
        return rng.choice(
            (f"06{digits}", f"06-{digits}", f"+316{digits}", f"0031 6 {digits[:4]} {digits[4:]}")
        )
    area = rng.choice(("20", "10", "30", "40", "50", "70", "73", "76", "416", "512"))
    rest = f"{rng.randrange(10 ** (8 - len(area)), 10 ** (9 - len(area)))}"
    return rng.choice((f"0{area}-{rest}", f"+31 {area} {rest}", f"0{area}{rest}"))


def generate(path: Path, rows: int, seed: int = 20260705) -> None:
    rng = random.Random(seed)
    recent: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow(
            ("Klantnummer", "Voornaam", "Achternaam", "Telefoon", "Mobiel", "Postcode", "Segment")
        )
        for i in range(rows):
            draw = rng.random()
            if draw < 0.01:
                phone = rng.choice(_BAD)
            elif draw < 0.02 and recent:
                phone = rng.choice(recent)  # a duplicate of an earlier row
            else:
                phone = _number(rng)
                if len(recent) < 1000:
                    recent.append(phone)
            mobile = _number(rng) if rng.random() < 0.1 else ""
            writer.writerow(
                (
                    f"K{i:07d}",
                    rng.choice(_FIRST),
                    rng.choice(_LAST),
                    phone,
                    mobile,
                    f"{rng.randrange(1000, 10000)} AB",
                    rng.choice(("A", "B", "C")),
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    mapping = ColumnMapping.from_dict(
        {
            "customer_id": "Klantnummer",
            "first_name": "Voornaam",
            "last_name": "Achternaam",
            "phone": "Telefoon",
            "alt_phones": "Mobiel",
            "postal_code": "Postcode",
            "custom.segment": "Segment",
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        generate(path, args.rows)
        importer = ListImporter(mapping, default_region="NL", workers=args.workers)
        start = time.perf_counter()
        cpu_start = time.process_time()
        result = importer.import_csv(path)
        seconds = time.perf_counter() - start
        # CPU time of this process and the finished workers: on a shared, busy machine the wall
        # time says more about the neighbours than about the importer.
        cpu = time.process_time() - cpu_start + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    print(
        json.dumps(
            {
                "benchmark": "list_import",
                "rows": result.rows,
                "seconds": round(seconds, 2),
                "rows_per_second": round(result.rows / seconds),
                "rejected": result.rejected,
                "accepted": result.accepted,
                "workers": args.workers,
                "cpu_seconds": round(cpu, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
