"""Reads Parquet files with pyarrow (the reference reader) and prints what RetentionTests checks.

Usage: read_parquet.py FILE...  Prints one JSON object on its last line: per file, its row
count, each column's Arrow type, its key-value metadata, its SHA-256, the codecs its column
chunks were compressed with, and its rows (timestamps
as integer microseconds since the epoch, so nothing is lost to formatting).
"""
import datetime
import hashlib
import json
import sys

import pyarrow.parquet as pq

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(value):
    if isinstance(value, datetime.datetime):
        delta = value - EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return value


def main(paths):
    result = {}
    for path in paths:
        parquet = pq.ParquetFile(path)
        table = parquet.read()
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        metadata = {key.decode(): value.decode() for key, value in (parquet.metadata.metadata or {}).items()}
        result[path] = {
            "rows": table.num_rows,
            "row_groups": parquet.metadata.num_row_groups,
            "types": {field.name: str(field.type) for field in table.schema},
            "metadata": metadata,
            "sha256": digest,
            "codecs": sorted({
                parquet.metadata.row_group(group).column(column).compression
                for group in range(parquet.metadata.num_row_groups)
                for column in range(parquet.metadata.num_columns)
            }),
            "records": [{key: plain(value) for key, value in row.items()} for row in table.to_pylist()],
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
