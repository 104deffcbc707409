//! Java's `DataOutput`/`DataInput` encodings and Hadoop's `Writable` primitives, for the formats
//! that Java wrote first: big-endian integers, Java's modified UTF-8 (`writeUTF`, Hadoop's
//! `DeprecatedUTF8`), Hadoop's variable-length integers (`WritableUtils.writeVLong`) and `Text`.
//! Owned here so that every format that needs them (the edit log's op bodies, jute) uses one.

/// Why bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("{what} needs {needed} bytes at offset {at}, {left} left")]
    Truncated {
        what: &'static str,
        needed: usize,
        at: usize,
        left: usize,
    },
    #[error("{what} at offset {at} is not valid text")]
    BadString { what: &'static str, at: usize },
    #[error("{what} at offset {at} has a negative length {len}")]
    NegativeLength {
        what: &'static str,
        at: usize,
        len: i64,
    },
}

/// Appends Java-encoded values to a byte vector.
pub trait DataOutput {
    fn put_u8(&mut self, v: u8);
    fn put_bool(&mut self, v: bool);
    fn put_i16(&mut self, v: i16);
    fn put_i32(&mut self, v: i32);
    fn put_i64(&mut self, v: i64);
    /// `DataOutput.writeUTF`: a 16-bit byte count, then modified UTF-8. The string must encode
    /// to at most 65535 bytes (callers bound what they write: paths are at most 8000 UTF-16
    /// units, 24000 bytes).
    fn put_utf(&mut self, s: &str);
    /// Hadoop's `WritableUtils.writeVLong` (and `writeVInt`).
    fn put_vlong(&mut self, v: i64);
    /// Hadoop's `Text.writeString`: a VInt byte count, then UTF-8.
    fn put_text(&mut self, s: &str);
    /// A 16-bit byte count, then the bytes (`FSImageSerialization.writeBytes`).
    fn put_short_bytes(&mut self, bytes: &[u8]);
}

impl DataOutput for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }

    fn put_bool(&mut self, v: bool) {
        self.push(u8::from(v));
    }

    fn put_i16(&mut self, v: i16) {
        self.extend_from_slice(&v.to_be_bytes());
    }

    fn put_i32(&mut self, v: i32) {
        self.extend_from_slice(&v.to_be_bytes());
    }

    fn put_i64(&mut self, v: i64) {
        self.extend_from_slice(&v.to_be_bytes());
    }

    fn put_utf(&mut self, s: &str) {
        let encoded = encode_modified_utf8(s);
        let len = u16::try_from(encoded.len()).expect("a string of at most 65535 bytes");
        self.extend_from_slice(&len.to_be_bytes());
        self.extend_from_slice(&encoded);
    }

    fn put_vlong(&mut self, v: i64) {
        if (-112..=127).contains(&v) {
            self.push(v as i8 as u8);
            return;
        }
        let (mut len, magnitude) = if v < 0 { (-120i32, !v) } else { (-112, v) };
        let mut rest = magnitude;
        while rest != 0 {
            rest >>= 8;
            len -= 1;
        }
        self.push(len as i8 as u8);
        let bytes = if len < -120 {
            -(len + 120)
        } else {
            -(len + 112)
        };
        for i in (0..bytes).rev() {
            self.push((magnitude >> (i * 8)) as u8);
        }
    }

    fn put_text(&mut self, s: &str) {
        self.put_vlong(s.len() as i64);
        self.extend_from_slice(s.as_bytes());
    }

    fn put_short_bytes(&mut self, bytes: &[u8]) {
        let len = u16::try_from(bytes.len()).expect("at most 65535 bytes");
        self.extend_from_slice(&len.to_be_bytes());
        self.extend_from_slice(bytes);
    }
}

/// Java's modified UTF-8 of `s`: UTF-16 units of 1 to 3 bytes each, NUL as two bytes.
pub fn encode_modified_utf8(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for unit in s.encode_utf16() {
        match unit {
            0x01..=0x7f => out.push(unit as u8),
            0x00 | 0x80..=0x7ff => {
                out.push(0xc0 | (unit >> 6) as u8);
                out.push(0x80 | (unit & 0x3f) as u8);
            }
            _ => {
                out.push(0xe0 | (unit >> 12) as u8);
                out.push(0x80 | ((unit >> 6) & 0x3f) as u8);
                out.push(0x80 | (unit & 0x3f) as u8);
            }
        }
    }
    out
}

/// UTF-8, or Java's modified UTF-8 (NUL as two bytes, surrogate pairs as two 3-byte
/// sequences), as a string; `None` when it is neither.
pub fn decode_modified_utf8(bytes: &[u8]) -> Option<String> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Some(s.to_string());
    }
    let mut units: Vec<u16> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let cont = |k: usize| match bytes.get(i + k) {
            Some(c) if c & 0xc0 == 0x80 => Some(u16::from(c & 0x3f)),
            _ => None,
        };
        if b < 0x80 {
            units.push(u16::from(b));
            i += 1;
        } else if b & 0xe0 == 0xc0 {
            units.push((u16::from(b & 0x1f) << 6) | cont(1)?);
            i += 2;
        } else if b & 0xf0 == 0xe0 {
            units.push((u16::from(b & 0x0f) << 12) | (cont(1)? << 6) | cont(2)?);
            i += 3;
        } else {
            return None;
        }
    }
    String::from_utf16(&units).ok()
}

/// Reads Java-encoded values from bytes; every error names the value and the offset.
pub struct DataInput<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> DataInput<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        DataInput { bytes, at: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    pub fn take(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], DataError> {
        if self.remaining() < n {
            return Err(DataError::Truncated {
                what,
                needed: n,
                at: self.at,
                left: self.remaining(),
            });
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DataError> {
        Ok(self.take(what, N)?.try_into().expect("N bytes"))
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, DataError> {
        Ok(self.take(what, 1)?[0])
    }

    pub fn bool(&mut self, what: &'static str) -> Result<bool, DataError> {
        Ok(self.u8(what)? != 0)
    }

    pub fn i16(&mut self, what: &'static str) -> Result<i16, DataError> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    pub fn i32(&mut self, what: &'static str) -> Result<i32, DataError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    pub fn i64(&mut self, what: &'static str) -> Result<i64, DataError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    /// `DataInput.readUTF`.
    pub fn utf(&mut self, what: &'static str) -> Result<String, DataError> {
        let len = u16::from_be_bytes(self.array(what)?);
        let at = self.at;
        let bytes = self.take(what, usize::from(len))?;
        decode_modified_utf8(bytes).ok_or(DataError::BadString { what, at })
    }

    /// `WritableUtils.readVLong`.
    pub fn vlong(&mut self, what: &'static str) -> Result<i64, DataError> {
        let first = self.u8(what)? as i8;
        if first >= -112 {
            return Ok(i64::from(first));
        }
        let negative = first < -120;
        let bytes = if negative {
            -120 - i32::from(first)
        } else {
            -112 - i32::from(first)
        };
        let mut value: i64 = 0;
        for &b in self.take(what, bytes as usize)? {
            value = (value << 8) | i64::from(b);
        }
        Ok(if negative { !value } else { value })
    }

    /// A VInt byte count, bounded by what is left.
    fn vlen(&mut self, what: &'static str) -> Result<usize, DataError> {
        let at = self.at;
        let len = self.vlong(what)?;
        usize::try_from(len).map_err(|_| DataError::NegativeLength { what, at, len })
    }

    /// `Text.readString`.
    pub fn text(&mut self, what: &'static str) -> Result<String, DataError> {
        let len = self.vlen(what)?;
        let at = self.at;
        let bytes = self.take(what, len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DataError::BadString { what, at })
    }

    /// A 16-bit byte count, then the bytes.
    pub fn short_bytes(&mut self, what: &'static str) -> Result<&'a [u8], DataError> {
        let len = u16::from_be_bytes(self.array(what)?);
        self.take(what, usize::from(len))
    }

    /// A protobuf varint byte count, then the bytes (`writeDelimitedTo`).
    pub fn delimited(&mut self, what: &'static str) -> Result<&'a [u8], DataError> {
        let mut len: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8(what)?;
            len |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return self.take(what, usize::try_from(len).unwrap_or(usize::MAX));
            }
        }
        Err(DataError::BadString { what, at: self.at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlongs_match_hadoops_encoding() {
        // Values and bytes as WritableUtils.writeVLong writes them.
        let cases: &[(i64, &[u8])] = &[
            (0, &[0]),
            (127, &[127]),
            (-112, &[0x90]),
            (128, &[0x8f, 0x80]),
            (255, &[0x8f, 0xff]),
            (256, &[0x8e, 0x01, 0x00]),
            (-113, &[0x87, 0x70]),
            (-256, &[0x87, 0xff]),
            (-257, &[0x86, 0x01, 0x00]),
            (
                i64::MAX,
                &[0x88, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            (
                i64::MIN,
                &[0x80, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ];
        for (value, bytes) in cases {
            let mut out = Vec::new();
            out.put_vlong(*value);
            assert_eq!(&out, bytes, "{value}");
            assert_eq!(DataInput::new(bytes).vlong("v"), Ok(*value));
        }
    }

    #[test]
    fn modified_utf8_round_trips_nul_and_supplementary_characters() {
        let s = "a\0é€😀";
        let mut out = Vec::new();
        out.put_utf(s);
        // NUL as C0 80; the emoji as two 3-byte surrogates.
        assert_eq!(
            out,
            [
                0, 14, b'a', 0xc0, 0x80, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0xbd, 0xed,
                0xb8, 0x80
            ]
        );
        assert_eq!(DataInput::new(&out).utf("s").unwrap(), s);
        assert_eq!(decode_modified_utf8(&[0xff]), None);
    }

    #[test]
    fn short_input_names_the_value_and_the_offset() {
        let mut r = DataInput::new(&[0, 0, 0, 1, 2]);
        assert_eq!(r.i32("count"), Ok(1));
        assert_eq!(
            r.i64("txid").unwrap_err().to_string(),
            "txid needs 8 bytes at offset 4, 1 left"
        );
        let mut text = Vec::new();
        text.put_text("supergroup");
        assert_eq!(DataInput::new(&text).text("group").unwrap(), "supergroup");
        assert!(DataInput::new(&[0x88]).text("t").is_err());
    }
}
