//! Jute, ZooKeeper's binary encoding, and every record the client protocol and our txn log use.
//! This is the only module that knows byte layouts.
//!
//! Decoding is pure and never panics: [`check_frame`] over a buffer says `Incomplete` until a
//! whole length-prefixed frame is there, refuses lengths that are negative or above
//! `jute.maxbuffer`, and [`Reader`] refuses any buffer, string or vector longer than the limit
//! or than the bytes that remain (so a hostile length never allocates).
//!
//! - `codec` — the encoding: frames, [`Reader`], the [`Jute`] trait;
//! - `records` — the records of `zookeeper.jute` (client protocol, txn log, quorum);
//! - `requests` — a decoded client request ([`Request`]);
//! - `responses` — reply bodies and the frames a client reads.

mod codec;
mod records;
mod requests;
mod responses;
#[cfg(test)]
mod tests;

pub use codec::*;
pub use records::*;
pub use requests::*;
pub use responses::*;
