//! The encoding itself: op codes and special xids, the frame check, [`Reader`] with its
//! length limits, the [`Jute`] trait for primitives, buffers, strings and vectors, and the
//! `record!` macro the records are declared with.

/// ZooKeeper's default `jute.maxbuffer` (0xfffff bytes).
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// Op codes (`ZooDefs.OpCode`).
pub mod op {
    pub const NOTIFICATION: i32 = 0;
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const EXISTS: i32 = 3;
    pub const GET_DATA: i32 = 4;
    pub const SET_DATA: i32 = 5;
    pub const GET_ACL: i32 = 6;
    pub const SET_ACL: i32 = 7;
    pub const GET_CHILDREN: i32 = 8;
    pub const SYNC: i32 = 9;
    pub const PING: i32 = 11;
    pub const GET_CHILDREN2: i32 = 12;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const RECONFIG: i32 = 16;
    pub const CHECK_WATCHES: i32 = 17;
    pub const REMOVE_WATCHES: i32 = 18;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const DELETE_CONTAINER: i32 = 20;
    pub const CREATE_TTL: i32 = 21;
    pub const MULTI_READ: i32 = 22;
    pub const AUTH: i32 = 100;
    pub const SET_WATCHES: i32 = 101;
    pub const SASL: i32 = 102;
    pub const GET_EPHEMERALS: i32 = 103;
    pub const GET_ALL_CHILDREN_NUMBER: i32 = 104;
    pub const SET_WATCHES2: i32 = 105;
    pub const ADD_WATCH: i32 = 106;
    pub const WHO_AM_I: i32 = 107;
    pub const CREATE_SESSION: i32 = -10;
    pub const CLOSE_SESSION: i32 = -11;
    pub const ERROR: i32 = -1;
}

/// Special xids (`ClientCnxn`).
pub mod xid {
    pub const NOTIFICATION: i32 = -1;
    pub const PING: i32 = -2;
    pub const AUTH: i32 = -4;
    pub const SET_WATCHES: i32 = -8;
}

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JuteError {
    /// The record ends before its last field.
    #[error("record truncated")]
    Truncated,
    /// A buffer, string or vector length that is negative (other than -1) or too large.
    #[error("Unreasonable length = {0}")]
    BadLength(i64),
    /// A string that is neither UTF-8 nor Java's modified UTF-8.
    #[error("string is not UTF-8")]
    BadString,
    /// A null where the protocol needs a value.
    #[error("unexpected null")]
    Null,
    /// Bytes left over after the record.
    #[error("{0} trailing bytes after the record")]
    Trailing(usize),
    /// An op code we do not know (answered with UNIMPLEMENTED).
    #[error("unknown op code {0}")]
    UnknownOp(i32),
    /// A sub-op a multi may not carry (or reads mixed with writes).
    #[error("invalid op {0} in a multi")]
    BadMultiOp(i32),
}

/// What the frame check found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not a whole frame yet: read more.
    #[error("incomplete frame")]
    Incomplete,
    /// ZooKeeper's "Len error": the connection must be closed.
    #[error("Len error {0}")]
    BadLength(i64),
}

/// Checks for one whole frame at the start of `buf`: `Ok(n)` means the payload is
/// `buf[4..4 + n]`.
pub fn check_frame(buf: &[u8], max_buffer: usize) -> Result<usize, FrameError> {
    if buf.len() < 4 {
        return Err(FrameError::Incomplete);
    }
    let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if len < 0 || len as usize > max_buffer {
        return Err(FrameError::BadLength(len.into()));
    }
    if buf.len() < 4 + len as usize {
        return Err(FrameError::Incomplete);
    }
    Ok(len as usize)
}

/// Appends a length-prefixed frame whose payload `fill` writes.
pub fn frame(fill: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    fill(&mut out);
    let len = (out.len() - 4) as i32;
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// A cursor over one record's bytes with the length limit.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    max: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], max: usize) -> Self {
        Reader { buf, pos: 0, max }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], JuteError> {
        if self.remaining() < n {
            return Err(JuteError::Truncated);
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn i32(&mut self) -> Result<i32, JuteError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn i64(&mut self) -> Result<i64, JuteError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    pub fn bool(&mut self) -> Result<bool, JuteError> {
        Ok(self.take(1)?[0] != 0)
    }

    /// A length for `count` items of at least `unit` bytes each; `None` for -1 (null).
    fn length(&mut self, unit: usize) -> Result<Option<usize>, JuteError> {
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 || len as usize > self.max {
            return Err(JuteError::BadLength(len.into()));
        }
        let len = len as usize;
        if len.saturating_mul(unit) > self.remaining() {
            return Err(JuteError::Truncated);
        }
        Ok(Some(len))
    }

    /// A `buffer`; `None` for null.
    pub fn buffer(&mut self) -> Result<Option<Vec<u8>>, JuteError> {
        match self.length(1)? {
            None => Ok(None),
            Some(n) => Ok(Some(self.take(n)?.to_vec())),
        }
    }

    /// A `ustring`; `None` for null.
    pub fn ustring(&mut self) -> Result<Option<String>, JuteError> {
        match self.length(1)? {
            None => Ok(None),
            Some(n) => decode_string(self.take(n)?).map(Some),
        }
    }

    /// A `vector<T>`; `None` for null.
    pub fn vector<T: Jute>(&mut self) -> Result<Option<Vec<T>>, JuteError> {
        match self.length(T::MIN_SIZE)? {
            None => Ok(None),
            Some(n) => {
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(T::read(self)?);
                }
                Ok(Some(out))
            }
        }
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), JuteError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(JuteError::Trailing(n)),
        }
    }
}

/// UTF-8, or Java's modified UTF-8 (CESU-8 surrogate pairs) converted to UTF-8.
pub(super) fn decode_string(bytes: &[u8]) -> Result<String, JuteError> {
    crate::java_data::decode_modified_utf8(bytes).ok_or(JuteError::BadString)
}

/// A value with a jute encoding.
pub trait Jute: Sized {
    /// The fewest bytes one encoded value takes (bounds vector counts before allocating).
    const MIN_SIZE: usize = 1;
    fn write(&self, out: &mut Vec<u8>);
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError>;

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    /// Decodes exactly one value from `bytes`.
    fn from_bytes(bytes: &[u8], max: usize) -> Result<Self, JuteError> {
        let mut r = Reader::new(bytes, max);
        let v = Self::read(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

impl Jute for i32 {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.i32()
    }
}

impl Jute for i64 {
    const MIN_SIZE: usize = 8;
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.i64()
    }
}

impl Jute for bool {
    fn write(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.bool()
    }
}

/// A `buffer`; null reads as empty (ZooKeeper stores null data as empty).
impl Jute for Vec<u8> {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        (self.len() as i32).write(out);
        out.extend_from_slice(self);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(r.buffer()?.unwrap_or_default())
    }
}

/// A `buffer` that may be null (znode data: ZooKeeper keeps null apart from empty).
impl Jute for Option<Vec<u8>> {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Some(bytes) => bytes.write(out),
            None => (-1i32).write(out),
        }
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.buffer()
    }
}

/// A `ustring` that must not be null.
impl Jute for String {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        (self.len() as i32).write(out);
        out.extend_from_slice(self.as_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.ustring()?.ok_or(JuteError::Null)
    }
}

/// A `vector<T>`; null reads as empty.
impl<T: Jute> Jute for Vec<T>
where
    T: VectorElement,
{
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        (self.len() as i32).write(out);
        for item in self {
            item.write(out);
        }
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(r.vector::<T>()?.unwrap_or_default())
    }
}

/// Marks the types that appear as `vector<T>` elements (keeps `Vec<u8>` a buffer).
pub trait VectorElement {}
impl VectorElement for String {}
impl VectorElement for i64 {}

macro_rules! record {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }
        impl Jute for $name {
            fn write(&self, out: &mut Vec<u8>) { $(self.$field.write(out);)* }
            fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
                Ok($name { $($field: <$ty as Jute>::read(r)?),* })
            }
        }
        impl VectorElement for $name {}
    };
}
pub(crate) use record;
