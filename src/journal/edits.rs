//! The byte format of the shared edit log, owned here and nowhere else: Hadoop 3.3's own, so
//! that segment files, the records a writer sends in `journal` batches, and what a real
//! NameNode, JournalNode or `hdfs oev` reads and writes are the same bytes.
//!
//! ```text
//! segment = header op* padding?
//! header  = layout version i32 | layout flags: count i32 (always 0)             (8 bytes)
//! op      = opcode u8 | length i32 | txid i64 | body | checksum u32        (17 + body bytes)
//! padding = OP_INVALID (0xff) bytes up to the end of the file
//! ```
//!
//! All integers are big-endian. `length` counts itself, the txid and the body (Hadoop's
//! convention: 12 + body); the checksum is CRC-32 (Hadoop's `PureJavaCrc32`) over the opcode,
//! length, txid and body, so a torn or corrupted op is always detected. Hadoop preallocates
//! in-progress segments with OP_INVALID bytes; a run of them at an op boundary ends the ops.
//!
//! The journal does not interpret bodies: a record's `payload` is its opcode byte followed by
//! its body (the NameNode's `ops` module owns what bodies mean). Scanning stops at the first op
//! that is incomplete, has an impossible length, fails its checksum, or does not carry the next
//! txid, and at padding: everything before it is the valid prefix, everything from it on is a
//! tail that is truncated, never replayed.

/// Bytes in a segment header.
pub const HEADER_LEN: usize = 8;
/// Bytes an op adds around its payload's body: opcode, length, txid, checksum.
pub const RECORD_OVERHEAD: usize = 17;
/// Bytes from an op's start to its body: opcode, length, txid.
const BODY_OFFSET: usize = 13;
/// The opcode of no op: preallocation padding and the end of the ops.
pub const OP_INVALID: u8 = 0xff;
/// The largest op, in bytes, opcode and checksum included: Hadoop's default
/// `dfs.namenode.max.op.size` (50 MiB). Anything larger is garbage, not an op.
pub const MAX_OP_LEN: usize = 50 << 20;
/// The smallest op Hadoop accepts: an empty body.
const MIN_OP_LEN: usize = RECORD_OVERHEAD;
/// The newest NameNode layout version this format is (Hadoop 3.3's).
pub const NEWEST_LAYOUT_VERSION: i32 = -66;

/// One edit: its transaction id and its payload (opcode byte, then the op's body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRecord {
    pub txid: u64,
    pub payload: Vec<u8>,
}

impl EditRecord {
    /// The op's opcode.
    pub fn opcode(&self) -> u8 {
        self.payload[0]
    }

    /// The op's body.
    pub fn body(&self) -> &[u8] {
        &self.payload[1..]
    }
}

/// The header bytes of a new segment.
pub fn segment_header(layout_version: i32) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(&layout_version.to_be_bytes());
    // The layout flags: none.
    header[4..8].copy_from_slice(&0i32.to_be_bytes());
    header
}

/// Why bytes are not a segment header, in Hadoop's texts (`EditLogFileInputStream`,
/// `LayoutFlags.read`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentHeaderError {
    /// Fewer than [`HEADER_LEN`] bytes.
    #[error("Reached EOF when reading log header")]
    Eof,
    /// A layout version newer than this format, or not a layout version at all (our own
    /// pre-Hadoop format began with a magic).
    #[error(
        "Unexpected version of the file system log file: {version}. Current version = {newest}.",
        newest = NEWEST_LAYOUT_VERSION
    )]
    UnexpectedVersion { version: i32 },
    #[error("The length of the feature flag section was negative at {flags} bytes.")]
    NegativeFlags { flags: i32 },
    #[error("Found feature flags which we can't handle. Please upgrade your software.")]
    FeatureFlags,
}

/// The layout version in a segment header, or why the header is not one.
pub fn parse_segment_header(bytes: &[u8]) -> Result<i32, SegmentHeaderError> {
    if bytes.len() < HEADER_LEN {
        return Err(SegmentHeaderError::Eof);
    }
    let version = i32::from_be_bytes(bytes[0..4].try_into().expect("4 bytes"));
    if !(NEWEST_LAYOUT_VERSION..0).contains(&version) {
        return Err(SegmentHeaderError::UnexpectedVersion { version });
    }
    let flags = i32::from_be_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if flags < 0 {
        return Err(SegmentHeaderError::NegativeFlags { flags });
    }
    if flags > 0 {
        return Err(SegmentHeaderError::FeatureFlags);
    }
    Ok(version)
}

/// Appends one encoded op to `out`. `payload` is the opcode byte and the body, as the
/// NameNode's `ops` module makes it.
pub fn encode_record(txid: u64, payload: &[u8], out: &mut Vec<u8>) {
    let (&opcode, body) = payload
        .split_first()
        .expect("a payload starts with its opcode");
    assert_ne!(opcode, OP_INVALID, "OP_INVALID is padding, not an op");
    let length = i32::try_from(BODY_OFFSET - 1 + body.len()).expect("an op fits in an i32");
    let start = out.len();
    out.push(opcode);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&txid.to_be_bytes());
    out.extend_from_slice(body);
    let checksum = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&checksum.to_be_bytes());
}

/// Encodes consecutive records starting at `first_txid`.
pub fn encode_batch<'a>(first_txid: u64, payloads: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, payload) in payloads.into_iter().enumerate() {
        encode_record(first_txid + i as u64, payload, &mut out);
    }
    out
}

/// Why scanning stopped before the end of the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailProblem {
    /// Fewer bytes than a whole op: a write that did not finish.
    Incomplete,
    /// A size no op can have (opcode and checksum included, as Hadoop counts it).
    BadLength { opcode: u8, size: i64 },
    /// The checksum does not match.
    BadChecksum {
        txid: u64,
        calculated: u32,
        read: u32,
    },
    /// An op with another txid than the next one expected.
    UnexpectedTxid { expected: u64, found: u64 },
    /// OP_INVALID preallocation padding up to the end.
    Padding { len: usize },
    /// Bytes other than padding after an OP_INVALID.
    AfterTerminator,
}

impl std::fmt::Display for TailProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TailProblem::Incomplete => write!(f, "an incomplete op"),
            TailProblem::BadLength { opcode, size } if *size < MIN_OP_LEN as i64 => write!(
                f,
                "Op {} has size {size}, but the minimum op size is {MIN_OP_LEN}",
                *opcode as i8
            ),
            TailProblem::BadLength { opcode, size } => write!(
                f,
                "Op {} has size {size}, but maxOpSize = {MAX_OP_LEN}",
                *opcode as i8
            ),
            TailProblem::BadChecksum {
                txid,
                calculated,
                read,
            } => write!(
                f,
                "Transaction is corrupt. Calculated checksum is {} but read checksum {} \
                 at txid {txid}",
                *calculated as i32, *read as i32
            ),
            TailProblem::UnexpectedTxid { expected, found } => {
                write!(f, "txid {found} where txid {expected} was expected")
            }
            TailProblem::Padding { len } => write!(f, "{len} bytes of OP_INVALID padding"),
            TailProblem::AfterTerminator => write!(f, "Read extra bytes after the terminator!"),
        }
    }
}

/// What a scan of op bytes found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordScan {
    /// Txid of the first valid op.
    pub first_txid: Option<u64>,
    /// Txid of the last valid op.
    pub last_txid: Option<u64>,
    pub num_records: u64,
    /// Bytes of the valid prefix.
    pub valid_len: usize,
    /// Why the scan stopped early, if it did (the bytes from `valid_len` on are the tail).
    pub problem: Option<TailProblem>,
}

/// Scans op bytes (no segment header). `expected_first` is the txid the first op must carry,
/// when known; every later op must carry the next txid.
pub fn scan_records(bytes: &[u8], expected_first: Option<u64>) -> RecordScan {
    let mut scan = RecordScan {
        first_txid: None,
        last_txid: None,
        num_records: 0,
        valid_len: 0,
        problem: None,
    };
    let mut expected = expected_first;
    let mut at = 0;
    while at < bytes.len() {
        match decode_at(bytes, at, expected) {
            Ok((record_len, txid)) => {
                scan.first_txid.get_or_insert(txid);
                scan.last_txid = Some(txid);
                scan.num_records += 1;
                at += record_len;
                scan.valid_len = at;
                expected = Some(txid + 1);
            }
            Err(problem) => {
                scan.problem = Some(problem);
                break;
            }
        }
    }
    scan
}

/// Decodes the op at `at`: its encoded length and txid.
fn decode_at(bytes: &[u8], at: usize, expected: Option<u64>) -> Result<(usize, u64), TailProblem> {
    let rest = &bytes[at..];
    let opcode = rest[0];
    if opcode == OP_INVALID {
        return Err(if rest.iter().all(|&b| b == OP_INVALID) {
            TailProblem::Padding { len: rest.len() }
        } else {
            TailProblem::AfterTerminator
        });
    }
    if rest.len() < 5 {
        return Err(TailProblem::Incomplete);
    }
    let length = i32::from_be_bytes(rest[1..5].try_into().expect("4 bytes"));
    // Hadoop's size of an op: the length field's value plus the opcode and the checksum.
    let size = i64::from(length) + 5;
    if size < MIN_OP_LEN as i64 || size > MAX_OP_LEN as i64 {
        return Err(TailProblem::BadLength { opcode, size });
    }
    let size = size as usize;
    if rest.len() < size {
        return Err(TailProblem::Incomplete);
    }
    let txid = u64::from_be_bytes(rest[5..BODY_OFFSET].try_into().expect("8 bytes"));
    let read = u32::from_be_bytes(rest[size - 4..size].try_into().expect("4 bytes"));
    let calculated = crc32fast::hash(&rest[..size - 4]);
    if calculated != read {
        return Err(TailProblem::BadChecksum {
            txid,
            calculated,
            read,
        });
    }
    if let Some(expected) = expected
        && txid != expected
    {
        return Err(TailProblem::UnexpectedTxid {
            expected,
            found: txid,
        });
    }
    Ok((size, txid))
}

/// Decodes every op of `bytes`, which must be whole and valid.
pub fn decode_records(bytes: &[u8]) -> Result<Vec<EditRecord>, TailProblem> {
    Ok(split_records(bytes)?
        .into_iter()
        .map(|(txid, op)| {
            let mut payload = Vec::with_capacity(op.len() - RECORD_OVERHEAD + 1);
            payload.push(op[0]);
            payload.extend_from_slice(&op[BODY_OFFSET..op.len() - 4]);
            EditRecord { txid, payload }
        })
        .collect())
}

/// Splits valid op bytes into `(txid, encoded op)` slices, for caches and readers that hand
/// ops on without decoding bodies.
pub fn split_records(bytes: &[u8]) -> Result<Vec<(u64, &[u8])>, TailProblem> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut expected = None;
    while at < bytes.len() {
        let (len, txid) = decode_at(bytes, at, expected)?;
        out.push((txid, &bytes[at..at + len]));
        at += len;
        expected = Some(txid + 1);
    }
    Ok(out)
}

/// Consecutive records `first..first + n` with small distinct payloads, for tests.
#[cfg(test)]
pub(crate) fn test_records(first: u64, n: u64) -> Vec<u8> {
    let payloads: Vec<Vec<u8>> = (first..first + n)
        .map(|t| format!("op{t}").into_bytes())
        .collect();
    encode_batch(first, payloads.iter().map(Vec::as_slice))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first: u64, n: usize) -> Vec<u8> {
        let payloads: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; 200]).collect();
        encode_batch(first, payloads.iter().map(Vec::as_slice))
    }

    const OP_LEN: usize = RECORD_OVERHEAD + 199;

    /// Edits written by Hadoop 3.3.6's own `hdfs oev -p binary` from
    /// `tests/data/hadoop-3.3.6-edits.xml`: nine ops, txids 1 to 9.
    const HADOOP_EDITS: &[u8] = include_bytes!("../../tests/data/hadoop-3.3.6-edits.bin");

    #[test]
    fn hadoop_written_edits_scan_and_re_encode_byte_for_byte() {
        assert_eq!(parse_segment_header(HADOOP_EDITS), Ok(-66));
        assert_eq!(&HADOOP_EDITS[..HEADER_LEN], &segment_header(-66));
        let ops = &HADOOP_EDITS[HEADER_LEN..];
        let scan = scan_records(ops, Some(1));
        assert_eq!(
            (scan.first_txid, scan.last_txid, scan.num_records),
            (Some(1), Some(9), 9)
        );
        assert_eq!((scan.valid_len, scan.problem), (ops.len(), None));
        let records = decode_records(ops).unwrap();
        // OP_START_LOG_SEGMENT has an empty body.
        assert_eq!(records[0].payload, vec![24]);
        let again = encode_batch(1, records.iter().map(|r| r.payload.as_slice()));
        assert_eq!(again, ops);
    }

    #[test]
    fn records_round_trip() {
        let bytes = batch(7, 5);
        let records = decode_records(&bytes).unwrap();
        assert_eq!(records.len(), 5);
        assert_eq!(records[0].txid, 7);
        assert_eq!(records[4].txid, 11);
        assert_eq!(records[3].payload, vec![3u8; 200]);
        assert_eq!((records[3].opcode(), records[3].body().len()), (3, 199));
        let scan = scan_records(&bytes, Some(7));
        assert_eq!(
            (
                scan.first_txid,
                scan.last_txid,
                scan.num_records,
                scan.valid_len,
                scan.problem
            ),
            (Some(7), Some(11), 5, bytes.len(), None)
        );
        let split = split_records(&bytes).unwrap();
        assert_eq!(split.len(), 5);
        assert_eq!(split[1].0, 8);
        assert_eq!(split[1].1.len(), OP_LEN);
    }

    #[test]
    fn every_truncation_point_keeps_exactly_the_whole_records() {
        let bytes = batch(1, 3);
        for cut in 0..bytes.len() {
            let scan = scan_records(&bytes[..cut], Some(1));
            assert_eq!(scan.num_records as usize, cut / OP_LEN, "cut {cut}");
            assert_eq!(scan.valid_len, (cut / OP_LEN) * OP_LEN);
            assert_eq!(scan.problem.is_some(), cut % OP_LEN != 0);
        }
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let bytes = batch(1, 2);
        for byte in 0..bytes.len() {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[byte] ^= 1 << bit;
                let scan = scan_records(&bad, Some(1));
                assert_eq!(
                    scan.num_records as usize,
                    byte / OP_LEN,
                    "byte {byte} bit {bit}"
                );
                assert!(scan.problem.is_some());
            }
        }
    }

    #[test]
    fn txids_must_follow_each_other() {
        let mut bytes = batch(1, 2);
        encode_record(5, b"gap", &mut bytes);
        let scan = scan_records(&bytes, Some(1));
        assert_eq!(scan.num_records, 2);
        assert_eq!(
            scan.problem,
            Some(TailProblem::UnexpectedTxid {
                expected: 3,
                found: 5
            })
        );
        assert!(scan_records(&batch(2, 1), Some(1)).problem.is_some());
        assert!(decode_records(&bytes).is_err());
    }

    #[test]
    fn impossible_sizes_are_not_ops() {
        let mut bytes = vec![3u8];
        bytes.extend_from_slice(&i32::MAX.to_be_bytes());
        bytes.extend_from_slice(&[0; 12]);
        let problem = scan_records(&bytes, None).problem.unwrap();
        assert_eq!(
            problem.to_string(),
            "Op 3 has size 2147483652, but maxOpSize = 52428800"
        );
        bytes[1..5].copy_from_slice(&3i32.to_be_bytes());
        let problem = scan_records(&bytes, None).problem.unwrap();
        assert_eq!(
            problem.to_string(),
            "Op 3 has size 8, but the minimum op size is 17"
        );
        bytes[1..5].copy_from_slice(&(-9i32).to_be_bytes());
        assert!(matches!(
            scan_records(&bytes, None).problem,
            Some(TailProblem::BadLength { size: -4, .. })
        ));
    }

    #[test]
    fn padding_ends_the_ops_and_garbage_after_it_is_a_problem() {
        let mut bytes = batch(1, 2);
        let valid = bytes.len();
        bytes.extend_from_slice(&[OP_INVALID; 1000]);
        let scan = scan_records(&bytes, Some(1));
        assert_eq!((scan.num_records, scan.valid_len), (2, valid));
        assert_eq!(scan.problem, Some(TailProblem::Padding { len: 1000 }));
        bytes[valid + 500] = 0;
        let scan = scan_records(&bytes, Some(1));
        assert_eq!((scan.num_records, scan.valid_len), (2, valid));
        assert_eq!(scan.problem, Some(TailProblem::AfterTerminator));
        assert_eq!(
            TailProblem::AfterTerminator.to_string(),
            "Read extra bytes after the terminator!"
        );
    }

    #[test]
    fn headers() {
        let header = segment_header(-66);
        assert_eq!(header, [0xff, 0xff, 0xff, 0xbe, 0, 0, 0, 0]);
        assert_eq!(parse_segment_header(&header), Ok(-66));
        assert_eq!(parse_segment_header(&segment_header(-64)), Ok(-64));
        let text = |bytes: &[u8]| parse_segment_header(bytes).unwrap_err().to_string();
        assert_eq!(
            parse_segment_header(&header[..5]),
            Err(SegmentHeaderError::Eof)
        );
        assert_eq!(text(&header[..5]), "Reached EOF when reading log header");
        assert_eq!(
            parse_segment_header(&segment_header(-67)),
            Err(SegmentHeaderError::UnexpectedVersion { version: -67 })
        );
        assert_eq!(
            text(&segment_header(-67)),
            "Unexpected version of the file system log file: -67. Current version = -66."
        );
        // The format this project wrote before it spoke Hadoop's.
        assert!(matches!(
            parse_segment_header(b"HAEDITS\0\0\0\0\x01"),
            Err(SegmentHeaderError::UnexpectedVersion { .. })
        ));
        let mut flagged = header;
        flagged[7] = 1;
        assert_eq!(
            parse_segment_header(&flagged),
            Err(SegmentHeaderError::FeatureFlags)
        );
        assert_eq!(
            text(&flagged),
            "Found feature flags which we can't handle. Please upgrade your software."
        );
        flagged[4] = 0x80;
        assert_eq!(
            text(&flagged),
            "The length of the feature flag section was negative at -2147483647 bytes."
        );
    }
}
