//! The byte format of the shared edit log, owned here and nowhere else: segment files and the
//! records the writer sends in `journal` batches are the same bytes.
//!
//! ```text
//! segment  = header record*
//! header   = "HAEDITS\0" (8 bytes) | format version u32 | layout version i32      (16 bytes)
//! record   = payload length u32 | txid u64 | crc32c u32 | payload                 (16 + n bytes)
//! ```
//!
//! All integers are big-endian. The checksum covers the length, the txid and the payload, so a
//! torn or corrupted record is always detected. Scanning stops at the first record that is
//! incomplete, fails its checksum, or does not carry the next txid: everything before it is the
//! valid prefix, everything from it on is a torn tail that is truncated, never replayed.

/// Magic bytes that start every segment file.
pub const SEGMENT_MAGIC: &[u8; 8] = b"HAEDITS\0";
/// Version of this byte format.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes in a segment header.
pub const HEADER_LEN: usize = 16;
/// Bytes before a record's payload.
pub const RECORD_HEADER_LEN: usize = 16;
/// The largest payload a record may carry; anything larger is garbage, not a record.
pub const MAX_PAYLOAD_LEN: usize = 16 << 20;

/// One edit: its transaction id and its opaque payload (the NameNode's serialized op).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRecord {
    pub txid: u64,
    pub payload: Vec<u8>,
}

/// The header bytes of a new segment.
pub fn segment_header(layout_version: i32) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(SEGMENT_MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_be_bytes());
    header[12..16].copy_from_slice(&layout_version.to_be_bytes());
    header
}

/// The layout version in a segment header, or why the header is not one.
pub fn parse_segment_header(bytes: &[u8]) -> Result<i32, String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!(
            "segment header is {} bytes, expected {HEADER_LEN}",
            bytes.len()
        ));
    }
    if &bytes[..8] != SEGMENT_MAGIC {
        return Err("segment does not start with the edit log magic bytes".to_string());
    }
    let version = u32::from_be_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(format!("unsupported edit log format version {version}"));
    }
    Ok(i32::from_be_bytes(
        bytes[12..16].try_into().expect("4 bytes"),
    ))
}

fn checksum(len: u32, txid: u64, payload: &[u8]) -> u32 {
    let mut crc = crc32c::crc32c(&len.to_be_bytes());
    crc = crc32c::crc32c_append(crc, &txid.to_be_bytes());
    crc32c::crc32c_append(crc, payload)
}

/// Appends one encoded record to `out`.
pub fn encode_record(txid: u64, payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).expect("payload fits in u32");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&txid.to_be_bytes());
    out.extend_from_slice(&checksum(len, txid, payload).to_be_bytes());
    out.extend_from_slice(payload);
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
    /// Fewer bytes than a whole record: a write that did not finish.
    Incomplete,
    /// A length no record can have.
    BadLength(u32),
    /// The checksum does not match.
    BadChecksum { txid: u64 },
    /// A record with another txid than the next one expected.
    UnexpectedTxid { expected: u64, found: u64 },
}

impl std::fmt::Display for TailProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TailProblem::Incomplete => write!(f, "an incomplete record"),
            TailProblem::BadLength(len) => write!(f, "a record length of {len} bytes"),
            TailProblem::BadChecksum { txid } => write!(f, "a checksum mismatch at txid {txid}"),
            TailProblem::UnexpectedTxid { expected, found } => {
                write!(f, "txid {found} where txid {expected} was expected")
            }
        }
    }
}

/// What a scan of record bytes found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordScan {
    /// Txid of the first valid record.
    pub first_txid: Option<u64>,
    /// Txid of the last valid record.
    pub last_txid: Option<u64>,
    pub num_records: u64,
    /// Bytes of the valid prefix.
    pub valid_len: usize,
    /// Why the scan stopped early, if it did (the bytes from `valid_len` on are a bad tail).
    pub problem: Option<TailProblem>,
}

/// Scans record bytes (no segment header). `expected_first` is the txid the first record must
/// carry, when known; every later record must carry the next txid.
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

/// Decodes the record at `at`: its encoded length and txid.
fn decode_at(bytes: &[u8], at: usize, expected: Option<u64>) -> Result<(usize, u64), TailProblem> {
    let rest = &bytes[at..];
    if rest.len() < RECORD_HEADER_LEN {
        return Err(TailProblem::Incomplete);
    }
    let len = u32::from_be_bytes(rest[0..4].try_into().expect("4 bytes"));
    let txid = u64::from_be_bytes(rest[4..12].try_into().expect("8 bytes"));
    let crc = u32::from_be_bytes(rest[12..16].try_into().expect("4 bytes"));
    if len as usize > MAX_PAYLOAD_LEN {
        return Err(TailProblem::BadLength(len));
    }
    let end = RECORD_HEADER_LEN + len as usize;
    if rest.len() < end {
        return Err(TailProblem::Incomplete);
    }
    if checksum(len, txid, &rest[RECORD_HEADER_LEN..end]) != crc {
        return Err(TailProblem::BadChecksum { txid });
    }
    if let Some(expected) = expected
        && txid != expected
    {
        return Err(TailProblem::UnexpectedTxid {
            expected,
            found: txid,
        });
    }
    Ok((end, txid))
}

/// Decodes every record of `bytes`, which must be whole and valid.
pub fn decode_records(bytes: &[u8]) -> Result<Vec<EditRecord>, TailProblem> {
    let mut records = Vec::new();
    let mut at = 0;
    let mut expected = None;
    while at < bytes.len() {
        let (len, txid) = decode_at(bytes, at, expected)?;
        records.push(EditRecord {
            txid,
            payload: bytes[at + RECORD_HEADER_LEN..at + len].to_vec(),
        });
        at += len;
        expected = Some(txid + 1);
    }
    Ok(records)
}

/// Splits valid record bytes into `(txid, encoded record)` slices, for caches and readers that
/// hand records on without decoding payloads.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first: u64, n: usize) -> Vec<u8> {
        let payloads: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; 200]).collect();
        encode_batch(first, payloads.iter().map(Vec::as_slice))
    }

    #[test]
    fn records_round_trip() {
        let bytes = batch(7, 5);
        let records = decode_records(&bytes).unwrap();
        assert_eq!(records.len(), 5);
        assert_eq!(records[0].txid, 7);
        assert_eq!(records[4].txid, 11);
        assert_eq!(records[3].payload, vec![3u8; 200]);
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
        assert_eq!(split[1].1.len(), RECORD_HEADER_LEN + 200);
    }

    #[test]
    fn every_truncation_point_keeps_exactly_the_whole_records() {
        let bytes = batch(1, 3);
        let record_len = RECORD_HEADER_LEN + 200;
        for cut in 0..bytes.len() {
            let scan = scan_records(&bytes[..cut], Some(1));
            assert_eq!(scan.num_records as usize, cut / record_len, "cut {cut}");
            assert_eq!(scan.valid_len, (cut / record_len) * record_len);
            assert_eq!(scan.problem.is_some(), cut % record_len != 0);
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
                let record = byte / (RECORD_HEADER_LEN + 200);
                assert_eq!(scan.num_records as usize, record, "byte {byte} bit {bit}");
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
    fn a_garbage_length_is_not_a_record() {
        let mut bytes = vec![0xff; RECORD_HEADER_LEN];
        bytes[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        let scan = scan_records(&bytes, None);
        assert_eq!(scan.problem, Some(TailProblem::BadLength(u32::MAX)));
    }

    #[test]
    fn headers() {
        let header = segment_header(-66);
        assert_eq!(parse_segment_header(&header), Ok(-66));
        assert!(parse_segment_header(&header[..10]).is_err());
        let mut bad = header;
        bad[0] = b'X';
        assert!(parse_segment_header(&bad).unwrap_err().contains("magic"));
        let mut future = header;
        future[8..12].copy_from_slice(&9u32.to_be_bytes());
        assert!(
            parse_segment_header(&future)
                .unwrap_err()
                .contains("version 9")
        );
    }
}
