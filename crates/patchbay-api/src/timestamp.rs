//! Timestamps on the wire: RFC 3339 in UTC with `Z`, with fractional seconds
//! exactly as chrono writes them (none, or 3, 6 or 9 digits: the fewest that
//! keep the value). They are formatted here into a stack buffer because
//! chrono's `Display` makes a formatter call per character, and a user object
//! carries several timestamps per account: it was a fifth of the time spent
//! answering `GET /sdk/me`.

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};
use serde::{Deserialize as _, Deserializer, Serialize as _, Serializer};

/// `2026-12-06T03:56:01.123Z` is 24 bytes; nanoseconds make it 30.
const LONGEST: usize = 30;

pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0u8; LONGEST];
    match format(at, &mut buffer) {
        Some(text) => serializer.serialize_str(text),
        // Years outside 0000–9999 and leap seconds, which chrono spells its own way.
        None => at.serialize(serializer),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    DateTime::<Utc>::deserialize(deserializer)
}

/// The same for an optional timestamp (`null` when absent).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<DateTime<Utc>>::deserialize(deserializer)
    }
}

fn format<'a>(at: &DateTime<Utc>, buffer: &'a mut [u8; LONGEST]) -> Option<&'a str> {
    // The naive value once: each of `DateTime`'s own accessors adds the
    // (zero) offset again.
    let at = at.naive_utc();
    let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    *buffer = *b"0000-00-00T00:00:00.000000000Z";
    digits(&mut buffer[0..4], year);
    digits(&mut buffer[5..7], at.month());
    digits(&mut buffer[8..10], at.day());
    digits(&mut buffer[11..13], at.hour());
    digits(&mut buffer[14..16], at.minute());
    digits(&mut buffer[17..19], at.second());
    let (fraction, width) = match nanos {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
        n if n % 1_000 == 0 => (n / 1_000, 6),
        n => (n, 9),
    };
    let end = if width == 0 {
        19
    } else {
        digits(&mut buffer[20..20 + width], fraction);
        20 + width
    };
    buffer[end] = b'Z';
    std::str::from_utf8(&buffer[..=end]).ok()
}

/// `value` in decimal, right-aligned in `field`, which is wide enough.
fn digits(field: &mut [u8], mut value: u32) {
    for slot in field.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    /// Whatever chrono's own serializer writes, this writes too.
    #[test]
    fn writes_what_chrono_writes() {
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut cases = vec![
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
            Utc.timestamp_opt(59, 1_500_000_000).unwrap(),
        ];
        for _ in 0..10_000 {
            let seconds = (next() % 253_402_300_800) as i64;
            let nanos = match next() % 4 {
                0 => 0,
                1 => (next() % 1_000) as u32 * 1_000_000,
                2 => (next() % 1_000_000) as u32 * 1_000,
                _ => (next() % 1_000_000_000) as u32,
            };
            cases.push(Utc.timestamp_opt(seconds, nanos).unwrap());
        }
        for at in cases {
            let ours = serialize(&at, serde_json::value::Serializer).unwrap();
            let chronos = serde_json::to_value(at).unwrap();
            assert_eq!(ours, chronos, "{at:?}");
            assert_eq!(deserialize(ours).unwrap(), at);
        }
    }
}
