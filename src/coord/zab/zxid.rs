//! Server ids and zxids: a zxid is a signed long, the epoch in its high 32 bits and a
//! counter in the low 32, as in ZooKeeper.

pub type Sid = u64;
pub type Zxid = i64;

/// The highest epoch: a zxid of a higher one would be negative and order before every
/// other (zxids are signed longs in ZooKeeper too). The wire refuses higher epochs, and a
/// leader never proposes one.
pub const MAX_EPOCH: u32 = i32::MAX as u32;

pub fn zxid_epoch(zxid: Zxid) -> u32 {
    ((zxid as u64) >> 32) as u32
}

pub fn zxid_counter(zxid: Zxid) -> u32 {
    zxid as u64 as u32
}

pub fn make_zxid(epoch: u32, counter: u32) -> Zxid {
    ((u64::from(epoch) << 32) | u64::from(counter)) as i64
}

/// Whether `next` may come right after `prev` in one history: the next counter of the same
/// epoch, or the first txn of a later epoch.
pub fn follows(prev: Zxid, next: Zxid) -> bool {
    let (pe, pc) = (zxid_epoch(prev), zxid_counter(prev));
    let (ne, nc) = (zxid_epoch(next), zxid_counter(next));
    (ne == pe && pc != u32::MAX && nc == pc + 1) || (ne > pe && nc == 1)
}
