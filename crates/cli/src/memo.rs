//! The facts of each domain of a list (the lists and the typo suggestion, see
//! [`DomainMemo`]), worked out once: they cost more than parsing an address, and a list has far
//! fewer domains than addresses.
//!
//! In two levels: each thread keeps the facts it used in its own table ([`MEMO`]), without a
//! lock, and asks the shared one, by parts behind their own locks, only for a domain new to it.
//! The checking threads ask for every address, mostly of the same few providers: one shared
//! table cost more in passing its locks and memory between the cores than the checking itself,
//! and a table per thread alone worked every domain out once per thread.
//!
//! The tables are packed ([`Facts`]): a list of a million addresses has tens of thousands of
//! company domains, each asked again only tens of thousands of addresses later, so nearly every
//! look-up of one misses the cache. With 48 bytes or more a domain in two places (a map of
//! strings and their facts), each such look-up missed it twice. Packed, most domains take one
//! slot of 16 bytes, with their facts in place: one miss.

use std::sync::{Mutex, PoisonError};

use mailvet_core::report::{DomainFacts, DomainMemo};

/// The most domains [`Memo`] keeps of each kind: a list of a million addresses has some tens of
/// thousands, and a list of all different domains gains nothing from a memo anyway.
const MEMO_DOMAINS: usize = 100_000;

/// How many parts [`Memo`] is cut into, each behind its own lock: the checking threads of
/// `--syntax-only` ask it for every address, and with one lock they mostly waited for each other.
const MEMO_SHARDS: usize = 64;

/// See the module's comment.
#[derive(Debug)]
pub(crate) struct Memo {
    /// Tells this memo's facts from another's in a thread's [`MEMO`].
    id: u64,
    /// By whether DNS said the domain receives no mail, then by the hash of the domain.
    shared: [[Shard; MEMO_SHARDS]; 2],
}

/// A part of [`Memo::shared`], alone on its cache lines: a lock taken by one core does not
/// take its neighbours' lines away from the other.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard(Mutex<Facts>);

impl Default for Memo {
    fn default() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Memo {
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            shared: std::array::from_fn(|_| std::array::from_fn(|_| Shard::default())),
        }
    }
}

/// A thread's facts for one [`Memo`] (by its id), by whether DNS said the domain receives no mail.
type ThreadFacts = Option<(u64, [Facts; 2])>;

thread_local! {
    static MEMO: std::cell::RefCell<ThreadFacts> = const { std::cell::RefCell::new(None) };
}

impl DomainMemo for Memo {
    fn facts(
        &self,
        domain: &str,
        no_mail: bool,
        work_out: &dyn Fn() -> DomainFacts,
    ) -> DomainFacts {
        let hash = hash(domain);
        let kind = usize::from(no_mail);
        let kept = MEMO.with_borrow_mut(|memo| {
            let (id, facts) = memo.get_or_insert_with(|| (self.id, Default::default()));
            if *id != self.id {
                *id = self.id;
                *facts = Default::default();
            }
            facts[kind].get(hash, domain)
        });
        if let Some(facts) = kept {
            return facts;
        }
        // Bits that neither the slots' tags (the top half) nor a table's first slot (the lowest
        // bits) are taken from alone.
        let shard = (hash >> 26) as usize % MEMO_SHARDS;
        let facts = {
            let mut shared = self.shared[kind][shard]
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match shared.get(hash, domain) {
                Some(facts) => facts,
                // Worked out under the lock: another thread that needs it waits rather than
                // working it out too.
                None => {
                    let facts = work_out();
                    shared.insert(hash, domain, &facts, MEMO_DOMAINS / MEMO_SHARDS);
                    facts
                }
            }
        };
        MEMO.with_borrow_mut(|memo| {
            if let Some((id, kept)) = memo
                && *id == self.id
            {
                kept[kind].insert(hash, domain, &facts, MEMO_DOMAINS);
            }
        });
        facts
    }
}

/// Domains and their facts, packed (see the module's comment).
#[derive(Debug, Default)]
struct Facts {
    /// Open addressing with linear probing, a power of two long (or empty), at most 3/4 used;
    /// four slots to a cache line. A slot's 16 bytes (the two words little-endian) are:
    /// - all zero: empty;
    /// - a domain of at most [`INLINE`] bytes whose facts have a byte, in place: its length,
    ///   the domain padded with zeros, and last the facts' byte ([`DomainFacts::as_byte`]).
    ///   Most domains: a look-up of one reads one cache line;
    /// - [`LONG`], and in bytes 4 to 7 the top half of the domain's [`hash`] (its tag), in
    ///   bytes 8 to 11 the offset of its record in `records`.
    slots: Vec<[u64; 2]>,
    /// The records of the domains not in place, one after another: the facts' byte, or
    /// [`SIDE`] and then the index in `side` in four bytes; the domain's length in one byte;
    /// the domain.
    records: Vec<u8>,
    /// The facts that have no byte (those with a suggestion: few domains).
    side: Vec<DomainFacts>,
    len: usize,
}

/// The longest domain a slot of [`Facts`] holds in place.
const INLINE: usize = 14;

/// A slot's first byte when its domain has a record.
const LONG: u8 = 0xFF;

/// A record's first byte when its facts are in [`Facts::side`]; [`DomainFacts::as_byte`] uses
/// the two lowest bits only.
const SIDE: u8 = 0x80;

/// The bits of a slot's second word that hold domain bytes (all but the facts' byte).
const INLINE_HIGH: u64 = (1 << 56) - 1;

/// A domain of at most [`INLINE`] bytes as it is kept in place, with the facts' byte 0.
fn inline(domain: &[u8]) -> [u64; 2] {
    let mut bytes = [0; 16];
    bytes[0] = domain.len() as u8;
    bytes[1..=domain.len()].copy_from_slice(domain);
    let (low, high) = bytes.split_at(8);
    [
        u64::from_le_bytes(low.try_into().unwrap_or_default()),
        u64::from_le_bytes(high.try_into().unwrap_or_default()),
    ]
}

impl Facts {
    fn get(&self, hash: u64, domain: &str) -> Option<DomainFacts> {
        if self.slots.is_empty() {
            return None;
        }
        let bytes = domain.as_bytes();
        // A key no slot in place has when the domain is too long to be in place: their length
        // byte is never 0.
        let key = if bytes.len() <= INLINE {
            inline(bytes)
        } else {
            [0, 0]
        };
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            let [low, high] = self.slots[at];
            match low as u8 {
                0 => return None,
                LONG => {
                    if low >> 32 == hash >> 32
                        && let Some(facts) = self.record(high as u32 as usize, domain)
                    {
                        return Some(facts);
                    }
                }
                _ => {
                    if low == key[0] && high & INLINE_HIGH == key[1] {
                        return Some(DomainFacts::from_byte((high >> 56) as u8));
                    }
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// The facts of the record at `offset`, if it is `domain`'s.
    fn record(&self, offset: usize, domain: &str) -> Option<DomainFacts> {
        let byte = *self.records.get(offset)?;
        let rest = &self.records[offset + 1..];
        let (index, rest) = if byte == SIDE {
            let (index, rest) = rest.split_first_chunk::<4>()?;
            (Some(u32::from_le_bytes(*index) as usize), rest)
        } else {
            (None, rest)
        };
        let (&len, rest) = rest.split_first()?;
        if rest.get(..usize::from(len))? != domain.as_bytes() {
            return None;
        }
        Some(match index {
            Some(index) => self.side.get(index)?.clone(),
            None => DomainFacts::from_byte(byte),
        })
    }

    /// Keeps `facts`, after forgetting everything when `most` domains are kept already. An
    /// empty domain, or one longer than 255 bytes (never one that parsed), is not kept.
    fn insert(&mut self, hash: u64, domain: &str, facts: &DomainFacts, most: usize) {
        let bytes = domain.as_bytes();
        let Ok(len) = u8::try_from(bytes.len()) else {
            return;
        };
        if len == 0 {
            return;
        }
        if self.len >= most {
            *self = Facts::default();
        }
        if 4 * (self.len + 1) > 3 * self.slots.len() {
            self.grow();
        }
        let byte = facts.as_byte();
        let slot = match byte {
            Some(byte) if bytes.len() <= INLINE => {
                let [low, high] = inline(bytes);
                [low, high | u64::from(byte) << 56]
            }
            _ => {
                let Ok(offset) = u32::try_from(self.records.len()) else {
                    return;
                };
                match byte {
                    Some(byte) => self.records.push(byte),
                    None => {
                        let Ok(index) = u32::try_from(self.side.len()) else {
                            return;
                        };
                        self.side.push(facts.clone());
                        self.records.push(SIDE);
                        self.records.extend_from_slice(&index.to_le_bytes());
                    }
                }
                self.records.push(len);
                self.records.extend_from_slice(bytes);
                [(hash >> 32) << 32 | u64::from(LONG), u64::from(offset)]
            }
        };
        self.place(hash, slot);
        self.len += 1;
    }

    /// Puts `slot`, of a domain with `hash`, in the first free slot for it.
    fn place(&mut self, hash: u64, slot: [u64; 2]) {
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        while self.slots[at][0] != 0 {
            at = (at + 1) & mask;
        }
        self.slots[at] = slot;
    }

    /// Twice the slots (1,024 at first), every one placed again.
    fn grow(&mut self) {
        let size = (2 * self.slots.len()).max(1024);
        // Zeroed by writing, not allocated zeroed (`vec![[0, 0]; size]`, which is calloc): the
        // fresh pages of a calloc are the kernel's shared zero page until written. A look-up
        // would read them as such, and the insert after it would then fault again to copy
        // each page, flushing it from every core's TLB by interrupts: 6 to 12 % of the samples
        // of a `--syntax-only` million went to those interrupts.
        let mut slots = Vec::with_capacity(size);
        slots.resize(size, [0, 0]);
        let old = std::mem::replace(&mut self.slots, slots);
        for slot in old {
            let hash = match slot[0] as u8 {
                0 => continue,
                LONG => {
                    let offset = slot[1] as u32 as usize;
                    let start = if self.records[offset] == SIDE { 5 } else { 1 };
                    let len = usize::from(self.records[offset + start]);
                    let at = offset + start + 1;
                    mailvet_core::hash::of(&self.records[at..at + len])
                }
                len => {
                    let mut bytes = [0; 16];
                    bytes[..8].copy_from_slice(&slot[0].to_le_bytes());
                    bytes[8..].copy_from_slice(&slot[1].to_le_bytes());
                    mailvet_core::hash::of(&bytes[1..=usize::from(len)])
                }
            };
            self.place(hash, slot);
        }
    }
}

/// The hash of a domain in [`Memo`] (see [`mailvet_core::hash`]).
fn hash(domain: &str) -> u64 {
    mailvet_core::hash::of(domain.as_bytes())
}

#[cfg(test)]
mod tests {
    use mailvet_core::lists::Lists;

    use super::*;

    /// The facts `memo` gives, and whether it worked them out to give them.
    fn asked(memo: &Memo, lists: &Lists, domain: &str, no_mail: bool) -> (DomainFacts, bool) {
        let worked = std::cell::Cell::new(false);
        let facts = memo.facts(domain, no_mail, &|| {
            worked.set(true);
            DomainFacts::work_out(lists, domain, no_mail)
        });
        (facts, worked.get())
    }

    #[test]
    fn the_memo_gives_each_domain_its_facts_and_works_each_out_once() {
        let lists = Lists::new();
        let memo = Memo::default();
        // Short and long domains, a suggestion, a list entry, and both `no_mail`.
        let domains = [
            "gmial.com",
            "gmail.com",
            "mailinator.com",
            "a-rather-long-company-name.example.co.uk",
            "gmx.dee",
        ];
        for no_mail in [false, true] {
            for domain in domains {
                let want = DomainFacts::work_out(&lists, domain, no_mail);
                assert_eq!(asked(&memo, &lists, domain, no_mail), (want.clone(), true));
                assert_eq!(asked(&memo, &lists, domain, no_mail), (want, false));
            }
        }
        // Another thread finds them in the shared part; another memo in this thread does not
        // see them.
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for domain in domains {
                    assert!(!asked(&memo, &lists, domain, true).1, "{domain}");
                }
            });
        });
        let other = Memo::default();
        assert!(asked(&other, &lists, "gmial.com", false).1);
        assert!(!asked(&memo, &lists, "gmial.com", false).1);
    }

    /// Domains whose facts differ, each as often as the others, so that a wrong record would
    /// show: every kind of facts, in turn.
    fn domain(n: usize) -> String {
        match n % 4 {
            0 => format!("company{n}.example"),
            1 => format!("shop{n}.cmo"),
            2 => format!("x{n}.mailinator.com"),
            _ => format!("{}{n}.co.uk", "long-name-".repeat(n % 7)),
        }
    }

    #[test]
    fn a_packed_table_gives_back_what_was_put_in_through_growth_and_collisions() {
        let lists = Lists::new();
        let mut facts = Facts::default();
        let domains: Vec<String> = (0..5_000).map(domain).collect();
        let want: Vec<DomainFacts> = domains
            .iter()
            .map(|d| DomainFacts::work_out(&lists, d, false))
            .collect();
        assert!(want.iter().any(|f| f.as_byte().is_none()));
        assert!(want.iter().any(|f| f.as_byte() == Some(1)));
        for (i, domain) in domains.iter().enumerate() {
            assert_eq!(facts.get(hash(domain), domain), None, "{domain}");
            facts.insert(hash(domain), domain, &want[i], usize::MAX);
            // Every domain so far, after each growth.
            if i.is_power_of_two() {
                for (j, domain) in domains[..=i].iter().enumerate() {
                    assert_eq!(facts.get(hash(domain), domain).as_ref(), Some(&want[j]));
                }
            }
        }
        assert!(4 * facts.len <= 3 * facts.slots.len());
        // The same hash (so the same tag and first slot) for different domains: each keeps its
        // own facts, and a domain never put in is not found.
        let mut same = Facts::default();
        for (i, domain) in domains[..20].iter().enumerate() {
            same.insert(42, domain, &want[i], usize::MAX);
        }
        for (i, domain) in domains[..20].iter().enumerate() {
            assert_eq!(same.get(42, domain).as_ref(), Some(&want[i]), "{domain}");
        }
        assert_eq!(same.get(42, "other.example"), None);
        // At the edge of what a slot holds in place (14 bytes), each kind of facts.
        for (i, domain) in [
            "abcdefghij.com",
            "abcdefghijk.com",
            "gmial.com",
            "gmail.com",
        ]
        .into_iter()
        .enumerate()
        {
            let want = DomainFacts::work_out(&lists, domain, i % 2 == 0);
            same.insert(42, domain, &want, usize::MAX);
            assert_eq!(same.get(42, domain), Some(want), "{domain}");
        }
        assert_eq!(same.get(42, "abcdefghij.co"), None);
        assert_eq!(same.get(42, "abcdefghijk.co"), None);
        // Nothing is kept for an empty domain, and nothing found for it.
        same.insert(42, "", &DomainFacts::from_byte(0), usize::MAX);
        assert_eq!(same.get(42, ""), None);
        // A prefix of a kept domain is another domain.
        assert_eq!(same.get(42, "company0.exampl"), None);
    }

    #[test]
    fn a_full_table_forgets_everything_and_starts_again() {
        let lists = Lists::new();
        let mut facts = Facts::default();
        for n in 0..10 {
            let d = domain(n);
            facts.insert(hash(&d), &d, &DomainFacts::work_out(&lists, &d, false), 4);
        }
        // 4 kept, forgotten, 4 more, forgotten: the last 2 are left.
        assert_eq!(facts.len, 2);
        let (gone, kept) = (domain(7), domain(9));
        assert_eq!(facts.get(hash(&gone), &gone), None);
        assert!(facts.get(hash(&kept), &kept).is_some());
        // Too long to keep: not kept, and nothing else is lost.
        let long = "a".repeat(300);
        facts.insert(hash(&long), &long, &DomainFacts::from_byte(0), 4);
        assert_eq!(facts.get(hash(&long), &long), None);
        assert_eq!(facts.len, 2);
    }
}
