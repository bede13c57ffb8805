//! Typo suggestions: `jane@gmial.com` → `jane@gmail.com`, `a@example.cmo` → `a@example.com`.
//!
//! Pure: the caller passes what DNS said about the typed domain, if it asked. The answer is a
//! [`Suggestion`] whose [`SuggestionKind`] says whether it is only a hint ("did you mean …?")
//! or a reason against the address ([`ReasonCode::PossibleTypo`]) because DNS says the typed
//! domain does not exist or receives no mail.
//!
//! The rules, in order:
//! 1. Never suggest away from a known-good domain: the free providers of [`crate::lists`]
//!    (which include every popular domain below), the user's allowed domains, and
//!    [`REAL_LOOKALIKES`], real domains that other tools wrongly "corrected".
//! 2. A popular mailbox domain ([`POPULAR`]) whose first label is within a typing distance of
//!    the typed first label, and whose suffix equals the typed one or is one edit away from it.
//!    The distance allowed grows with the length of the popular name: none for names of four
//!    letters or fewer (`mailw.com` is not `mail.com`), one keyboard-near edit for five or six
//!    letters, one edit of any kind for longer ones (two would make `bitmail.com` a
//!    `hotmail.com`); a step more when DNS says the typed domain receives no mail. A typed
//!    suffix that is a real TLD is only corrected when the name is exactly a popular one of five
//!    letters or more (`yahoo.co`), or when DNS says the typed domain receives no mail; then
//!    the exact name under any TLD will do (`gmail.fr` → `gmail.com`).
//! 3. Any domain whose TLD is not in the IANA root zone gets the nearest common suffix
//!    ([`COMMON_SUFFIXES`]) one edit away. A real TLD (`pacific.co`, `name.tv`) is only
//!    corrected when DNS says the domain receives no mail, and never when it is common itself.
//! 4. A domain typed without its dot (`gmailcom`) gets the popular domain it spells.
//!
//! The distance is Damerau-Levenshtein (optimal string alignment) with typing-aware costs:
//! inserting, deleting, transposing, or substituting a key next to the intended one on a QWERTY
//! keyboard (or a vowel for a vowel, or `y`/`z` as on QWERTZ keyboards) cost 2; any other
//! substitution costs 3. Ties go to the more popular target.
//!
//! ```
//! use mailvet_core::dns::route::MailRoute;
//! use mailvet_core::lists::Lists;
//! use mailvet_core::suggest::{SuggestionKind, suggest};
//!
//! let lists = Lists::new();
//! let hint = suggest(&lists, "jane", "gmial.com", None).unwrap();
//! assert_eq!(hint.address, "jane@gmail.com");
//! assert_eq!(hint.kind, SuggestionKind::Hint);
//!
//! let typo = suggest(&lists, "jane", "pacific.co", Some(&MailRoute::DomainNotFound)).unwrap();
//! assert_eq!(typo.address, "jane@pacific.com");
//! assert_eq!(typo.kind, SuggestionKind::PossibleTypo);
//!
//! assert_eq!(suggest(&lists, "jane", "pacific.co", None), None);
//! assert_eq!(suggest(&lists, "jane", "hey.com", None), None);
//! ```

use crate::dns::route::MailRoute;
use crate::lists::{self, Lists};
use crate::verdict::ReasonCode;

/// A suggested correction of the domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    /// The local part as typed, `@`, the suggested domain.
    pub address: String,
    /// The suggested domain.
    pub domain: String,
    pub kind: SuggestionKind,
}

impl Suggestion {
    /// `local` at the suggested `domain`, a possible typo when DNS says the typed domain
    /// receives no mail (`no_mail`), else a hint.
    pub fn new(local: &str, domain: String, no_mail: bool) -> Suggestion {
        // Without `format!`, which guesses the length and grows: this runs for every address
        // of a list at a misspelt domain.
        let mut address = String::with_capacity(local.len() + 1 + domain.len());
        address.push_str(local);
        address.push('@');
        address.push_str(&domain);
        Suggestion {
            address,
            domain,
            kind: if no_mail {
                SuggestionKind::PossibleTypo
            } else {
                SuggestionKind::Hint
            },
        }
    }

    /// The reason this suggestion adds to the verdict: [`ReasonCode::PossibleTypo`] when DNS
    /// backs it, none for a hint.
    pub fn reason(&self) -> Option<ReasonCode> {
        match self.kind {
            SuggestionKind::Hint => None,
            SuggestionKind::PossibleTypo => Some(ReasonCode::PossibleTypo),
        }
    }
}

/// How much a suggestion says about the typed address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuggestionKind {
    /// The domain looks misspelt, but nothing says it cannot receive mail (DNS was not asked,
    /// failed, or found a mail server, as typo-squatting domains often have): show it, and do
    /// not count it against the address.
    Hint,
    /// DNS says the typed domain does not exist, publishes a null MX, or has no mail server:
    /// the address cannot work as typed, and the suggestion says what was probably meant.
    PossibleTypo,
}

/// Popular mailbox domains, most used first: the targets of rule 2 and 4. Every one is on the
/// free-provider list (a unit test checks it), so none is ever suggested away from.
pub const POPULAR: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "live.com",
    "msn.com",
    "hotmail.co.uk",
    "yahoo.co.uk",
    "googlemail.com",
    "comcast.net",
    "protonmail.com",
    "proton.me",
    "yandex.ru",
    "mail.ru",
    "gmx.de",
    "gmx.net",
    "gmx.com",
    "web.de",
    "hotmail.fr",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "laposte.net",
    "yahoo.fr",
    "libero.it",
    "t-online.de",
    "btinternet.com",
    "sbcglobal.net",
    "verizon.net",
    "att.net",
    "bellsouth.net",
    "charter.net",
    "cox.net",
    "earthlink.net",
    "ymail.com",
    "rocketmail.com",
    "me.com",
    "mac.com",
    "qq.com",
    "163.com",
    "126.com",
    "naver.com",
    "yahoo.co.jp",
    "yahoo.co.in",
    "rediffmail.com",
    "hotmail.it",
    "hotmail.de",
    "hotmail.es",
    "outlook.fr",
    "outlook.de",
    "live.co.uk",
    "live.fr",
    "yahoo.de",
    "yahoo.es",
    "yahoo.it",
    "yahoo.ca",
    "yahoo.com.au",
    "yahoo.com.br",
    "bigpond.com",
    "shaw.ca",
    "rogers.com",
    "sympatico.ca",
    "zoho.com",
    "fastmail.com",
    "tutanota.com",
    "yandex.com",
    "mail.com",
    "ukr.net",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "interia.pl",
    "onet.pl",
    "uol.com.br",
    "bol.com.br",
    "terra.com.br",
    "sky.com",
    "virginmedia.com",
    "ntlworld.com",
    "blueyonder.co.uk",
    "talktalk.net",
    "juno.com",
    "optonline.net",
];

/// Common domain suffixes, most used first: the targets of rule 3.
pub const COMMON_SUFFIXES: &[&str] = &[
    "com", "net", "org", "co.uk", "de", "fr", "it", "es", "ru", "nl", "ca", "com.au", "com.br",
    "co.jp", "co.in", "edu", "gov", "io", "info", "be", "ch", "at", "se", "pl", "us", "mx", "in",
    "jp", "br", "au", "dk", "no", "fi", "ie", "pt", "cz", "co.nz", "co.za", "org.uk", "ac.uk",
];

/// Real domains near a popular one that other suggestion tools "corrected", with where that was
/// reported. Our rules leave most of them alone anyway; this list keeps it so.
pub const REAL_LOOKALIKES: &[&str] = &[
    "comcast.com", // mailcheck/mailcheck#109: Comcast's own domain, not a typo of comcast.net
    "hotmart.com", // own: a company two edits from hotmail.com
    "aver.com",    // own: a company one edit from naver.com
    "mailw.com",   // mailcheck/mailcheck#63, #168; amail/Verimail.js#14
    "wahoo.com",   // own: a company one edit from yahoo.com
];

/// The suggestion for `local@domain`, if the domain looks misspelt. `domain` is an A-label
/// domain as [`crate::lists`] takes it; `route` is what DNS said about it, if it was asked.
pub fn suggest(
    lists: &Lists,
    local: &str,
    domain: &str,
    route: Option<&MailRoute>,
) -> Option<Suggestion> {
    let no_mail = receives_no_mail(route);
    let fixed = suggest_domain(lists, domain, no_mail)?;
    Some(Suggestion::new(local, fixed, no_mail))
}

/// Whether DNS says the domain cannot receive mail (it does not exist, publishes a null MX, or
/// has no mail server): all of `route` that a suggestion depends on.
pub fn receives_no_mail(route: Option<&MailRoute>) -> bool {
    matches!(
        route,
        Some(MailRoute::DomainNotFound | MailRoute::NoMailServer | MailRoute::NullMx)
    )
}

/// The domain [`suggest`] suggests for `domain`, the same whatever the local part: a caller
/// checking many addresses at one domain can work it out once (see
/// [`crate::report::DomainMemo`]). `no_mail` is [`receives_no_mail`] of what DNS said.
pub fn suggest_domain(lists: &Lists, domain: &str, no_mail: bool) -> Option<String> {
    let domain = domain
        .strip_suffix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase();
    if lists.is_free_provider(&domain) {
        return None;
    }
    suggest_other_domain(lists, &domain, no_mail)
}

/// [`suggest_domain`] for a lowercase domain without the root dot that is not a free provider:
/// for a caller that already asked [`Lists::is_free_provider`].
pub(crate) fn suggest_other_domain(lists: &Lists, domain: &str, no_mail: bool) -> Option<String> {
    if lists.is_allowed_domain(domain) || REAL_LOOKALIKES.contains(&domain) {
        return None;
    }
    // Rules 2 and 3 both ask; a look-up in the list of TLDs is the costliest step of either.
    let tld_is_real = domain.rsplit('.').next().is_some_and(lists::is_tld);
    popular_domain(domain, no_mail, tld_is_real)
        .or_else(|| common_suffix(domain, no_mail, tld_is_real))
        .or_else(|| dotless(domain))
}

/// Costs, in half-steps so that a far substitution can cost one and a half edits.
const NEAR: u32 = 2;
const FAR: u32 = 3;
/// The cost of replacing a real TLD wholesale: worse than any typing edit rule 2 accepts.
const ANY_SUFFIX: u32 = 10;

/// Rule 2: the popular domain the typed one most likely meant.
fn popular_domain(domain: &str, no_mail: bool, suffix_is_real: bool) -> Option<String> {
    // Only names of about the typed one's length can be near enough (the first test in
    // `popular_among`): the others are not even looked at.
    let length = domain.split_once('.')?.0.len();
    let candidates = near_in_length(&POPULAR_BY_NAME_LENGTH, POPULAR.len(), length, MAX_NAME_GAP);
    popular_among(domain, no_mail, suffix_is_real, candidates)
}

/// [`popular_domain`] among the popular domains of `candidates`: bit `i` for `POPULAR[i]`.
fn popular_among(
    domain: &str,
    no_mail: bool,
    suffix_is_real: bool,
    candidates: u128,
) -> Option<String> {
    let (name, suffix) = domain.split_once('.')?;
    let suffix_is_one_tld = !suffix.contains('.') || COMMON_SUFFIXES.contains(&suffix);
    let mut best: Option<(Rank, &str)> = None;
    let typed = Counts::of(name.as_bytes());
    for popularity in bits(candidates) {
        let (target, (dot, counts)) = (POPULAR[popularity], &POPULAR_NAMES[popularity]);
        let (t_name, t_suffix) = (&target[..*dot], &target[dot + 1..]);
        let distinctive = t_name.len() >= 5;
        let max_name = match (t_name.len(), no_mail) {
            (0..=4, _) => 0,
            (5..=6, false) => NEAR,
            (5..=6, true) | (_, false) => FAR,
            (_, true) => MAX_NAME_COST,
        };
        // The first bound of `distance`, here: most targets fail it, and it costs less than a call.
        if name.len().abs_diff(t_name.len()) * NEAR as usize > max_name as usize {
            continue;
        }
        let Some(name_cost) = distance_counted((name, &typed), (t_name, counts), max_name) else {
            continue;
        };
        let suffix_cost = if suffix == t_suffix {
            Some(0)
        } else if !suffix_is_real {
            distance(suffix, t_suffix, FAR)
        } else if distinctive && name_cost == 0 && no_mail && suffix_is_one_tld {
            // The provider's exact name under another TLD, where it receives no mail
            // (`gmail.fr`): any of the provider's domains will do, the most popular first.
            Some(ANY_SUFFIX)
        } else if (name_cost == 0 && distinctive) || no_mail {
            distance(suffix, t_suffix, NEAR)
        } else {
            None
        };
        let Some(suffix_cost) = suffix_cost else {
            continue;
        };
        let rank = (name_cost + suffix_cost, popularity);
        if best.is_none_or(|(b, _)| rank < b) {
            best = Some((rank, target));
        }
    }
    best.map(|(_, target)| (*target).to_owned())
}

/// The most a popular name may cost to reach in [`popular_domain`].
const MAX_NAME_COST: u32 = 2 * NEAR + 1;

/// The most a popular name's length may differ from the typed one's: each byte more or less
/// is an edit of at least [`NEAR`].
const MAX_NAME_GAP: usize = (MAX_NAME_COST / NEAR) as usize;

/// For each length of name, which of [`POPULAR`] have a name that long: bit `i` for
/// `POPULAR[i]`.
const POPULAR_BY_NAME_LENGTH: ByLength = by_length(POPULAR, true);

/// For each length, which of [`COMMON_SUFFIXES`] are that long: bit `i` for
/// `COMMON_SUFFIXES[i]`.
const SUFFIXES_BY_LENGTH: ByLength = by_length(COMMON_SUFFIXES, false);

/// For each length up to [`MAX_TARGET`], which of a list of targets are that long (bit `i` for
/// the list's entry `i`): the targets a typed name may be near are looked up, not searched for.
type ByLength = [u128; MAX_TARGET + 1];

/// The [`ByLength`] of `targets`, or of their names before the first dot.
const fn by_length(targets: &[&str], name_only: bool) -> ByLength {
    assert!(targets.len() <= 128, "one bit a target");
    let mut by_length = [0; MAX_TARGET + 1];
    let mut i = 0;
    while i < targets.len() {
        let target = targets[i].as_bytes();
        let mut length = 0;
        while length < target.len() && !(name_only && target[length] == b'.') {
            length += 1;
        }
        // A target longer than MAX_TARGET stops the build here.
        by_length[length] |= 1 << i;
        i += 1;
    }
    by_length
}

/// The targets of `by_length` whose length is within `gap` of `length`.
///
/// In Wasm, all of them (`targets` of the list): the Worker and the widget check one address at
/// a time, and the widget's first load has no room for the tables. Either way, the targets left
/// out are those too far in length to be suggested (the tests of both hold the answers equal).
fn near_in_length(by_length: &ByLength, targets: usize, length: usize, gap: usize) -> u128 {
    if cfg!(target_arch = "wasm32") {
        return all(targets);
    }
    (length.saturating_sub(gap)..=length + gap)
        .filter_map(|length| by_length.get(length))
        .fold(0, |all, these| all | these)
}

/// Every one of `targets` targets, as [`ByLength`] marks them.
fn all(targets: usize) -> u128 {
    u128::MAX >> (128 - targets)
}

/// The targets of `candidates`, lowest bit (most popular) first.
fn bits(mut candidates: u128) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let first = (candidates != 0).then(|| candidates.trailing_zeros() as usize)?;
        candidates &= candidates - 1;
        Some(first)
    })
}

/// Rule 3: the domain with its suffix replaced by the nearest common one.
fn common_suffix(domain: &str, no_mail: bool, real: bool) -> Option<String> {
    common_suffix_among(domain, no_mail, real, true)
}

/// [`common_suffix`], looking only at suffixes near enough in length (`by_length`) or at all.
fn common_suffix_among(domain: &str, no_mail: bool, real: bool, by_length: bool) -> Option<String> {
    if real && !no_mail {
        return None;
    }
    // The typed suffix is the last one or two labels; a name must remain before it.
    let mut tails: [Option<(&str, &str)>; 2] = [None, None];
    let mut end = domain.len();
    for slot in &mut tails {
        let Some(dot) = domain[..end].rfind('.') else {
            break;
        };
        *slot = Some((&domain[..dot], &domain[dot + 1..]));
        end = dot;
    }
    let tails = tails.iter().flatten();
    if real
        && tails
            .clone()
            .any(|(_, tail)| COMMON_SUFFIXES.contains(tail))
    {
        return None;
    }
    let max = if real { NEAR } else { FAR };
    let mut best: Option<(Rank, &str, &str)> = None;
    for &(name, tail) in tails {
        let typed = Counts::of(tail.as_bytes());
        // Each byte more or less is an edit of at least NEAR.
        let candidates = if by_length {
            let gap = (max / NEAR) as usize;
            near_in_length(&SUFFIXES_BY_LENGTH, COMMON_SUFFIXES.len(), tail.len(), gap)
        } else {
            all(COMMON_SUFFIXES.len())
        };
        for popularity in bits(candidates) {
            let (common, counts) = (COMMON_SUFFIXES[popularity], &SUFFIX_COUNTS[popularity]);
            let Some(cost) = distance_counted((tail, &typed), (common, counts), max) else {
                continue;
            };
            let rank = (cost, popularity);
            if best.is_none_or(|(b, _, _)| rank < b) {
                best = Some((rank, name, common));
            }
        }
    }
    best.map(|(_, name, common)| format!("{name}.{common}"))
}

/// Rule 4: `gmailcom` → `gmail.com`.
fn dotless(domain: &str) -> Option<String> {
    if domain.contains('.') {
        return None;
    }
    POPULAR
        .iter()
        .find(|p| p.replace('.', "") == domain)
        .map(|p| (*p).to_owned())
}

/// How good a candidate is, smaller being better: its cost, then its popularity rank.
type Rank = (u32, usize);

/// The longest target of [`distance`]: its rows live on the stack (a unit test checks that every
/// popular name and common suffix fits).
const MAX_TARGET: usize = 15;

/// How often each byte of a name occurs, counted by the byte's low five bits (the letters
/// apart), up to 127: the lower bound of [`distance`]. The names of rules 2 and 3 have theirs
/// counted at compile time, and a typed name once for all of them.
#[derive(Clone, Copy, Debug)]
struct Counts([i8; 32]);

impl Counts {
    const fn of(bytes: &[u8]) -> Counts {
        let mut counts = [0i8; 32];
        let mut i = 0;
        while i < bytes.len() {
            let slot = (bytes[i] & 31) as usize;
            counts[slot] = counts[slot].saturating_add(1);
            i += 1;
        }
        Counts(counts)
    }

    /// The total difference of two counts.
    fn unmatched(&self, other: &Counts) -> u32 {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(&a, &b)| u32::from(a.abs_diff(b)))
            .sum()
    }
}

/// Where each of [`POPULAR`] splits into name and suffix, and the [`Counts`] of its name.
const POPULAR_NAMES: [(usize, Counts); POPULAR.len()] = {
    let mut names = [(0, Counts([0; 32])); POPULAR.len()];
    let mut i = 0;
    while i < POPULAR.len() {
        let target = POPULAR[i].as_bytes();
        // Every popular domain has a dot: a compile-time error otherwise.
        let mut dot = 0;
        while target[dot] != b'.' {
            dot += 1;
        }
        names[i] = (dot, Counts::of(target.split_at(dot).0));
        i += 1;
    }
    names
};

/// The [`Counts`] of each of [`COMMON_SUFFIXES`].
const SUFFIX_COUNTS: [Counts; COMMON_SUFFIXES.len()] = {
    let mut counts = [Counts([0; 32]); COMMON_SUFFIXES.len()];
    let mut i = 0;
    while i < COMMON_SUFFIXES.len() {
        counts[i] = Counts::of(COMMON_SUFFIXES[i].as_bytes());
        i += 1;
    }
    counts
};

/// Optimal-string-alignment distance with typing-aware substitution costs, if at most `max`.
/// `b` is the target, at most [`MAX_TARGET`] bytes: a longer one is never within `max`.
fn distance(a: &str, b: &str, max: u32) -> Option<u32> {
    let (a_counts, b_counts) = (Counts::of(a.as_bytes()), Counts::of(b.as_bytes()));
    distance_counted((a, &a_counts), (b, &b_counts), max)
}

/// [`distance`] of two names with their [`Counts`].
fn distance_counted(
    (a, a_counts): (&str, &Counts),
    (b, b_counts): (&str, &Counts),
    max: u32,
) -> Option<u32> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let length_gap = u32::try_from(a.len().abs_diff(b.len())).unwrap_or(u32::MAX);
    if length_gap.saturating_mul(NEAR) > max || b.len() > MAX_TARGET {
        return None;
    }
    // Most targets are far from the typed name, and cheaper to rule out than to measure: an
    // edit changes how often each byte occurs by two in all at most (a transposition not at
    // all) and costs at least NEAR = 2, so the total difference of those counts is a lower
    // bound of the distance. Bytes that share a slot can only hide differences, and so can
    // counts that stop at 127, so the bound still holds.
    if a_counts.unmatched(b_counts) > max {
        return None;
    }
    let width = b.len() + 1;
    // Three rows of the matrix: two back (for transpositions), one back, current.
    let mut matrix = [0u32; 3 * (MAX_TARGET + 1)];
    let rows = &mut matrix[..3 * width];
    for (j, cell) in rows[2 * width..].iter_mut().enumerate() {
        *cell = NEAR * u32::try_from(j).unwrap_or(u32::MAX / 4);
    }
    for i in 1..=a.len() {
        rows.copy_within(width.., 0);
        let (done, current) = rows.split_at_mut(2 * width);
        let (before, previous) = done.split_at(width);
        current[0] = NEAR * u32::try_from(i).unwrap_or(u32::MAX / 4);
        for j in 1..=b.len() {
            let substitution = previous[j - 1] + substitution_cost(a[i - 1], b[j - 1]);
            let mut cell = substitution
                .min(previous[j] + NEAR)
                .min(current[j - 1] + NEAR);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cell = cell.min(before[j - 2] + NEAR);
            }
            current[j] = cell;
        }
        // Every alignment passes through this row or, by a transposition, skips it from the
        // previous one; costs only grow, so once both rows exceed `max` the end will too.
        let row_min = |row: &[u32]| row.iter().copied().min().unwrap_or(0);
        if row_min(current) > max && row_min(previous) > max {
            return None;
        }
    }
    let d = rows[3 * width - 1];
    (d <= max).then_some(d)
}

fn substitution_cost(typed: u8, meant: u8) -> u32 {
    if typed == meant {
        0
    } else if keys_near(typed, meant) {
        NEAR
    } else {
        FAR
    }
}

/// True for keys a finger slips between: neighbours on a QWERTY keyboard, a vowel for a vowel,
/// and `y`/`z`, which trade places on QWERTZ keyboards.
fn keys_near(a: u8, b: u8) -> bool {
    let vowel = |k: u8| matches!(k, b'a' | b'e' | b'i' | b'o' | b'u');
    if (vowel(a) && vowel(b)) || matches!((a, b), (b'y', b'z') | (b'z', b'y')) {
        return true;
    }
    let key = |k: u8| KEYS.get(usize::from(k)).copied().flatten();
    let (Some((ra, ca)), Some((rb, cb))) = (key(a), key(b)) else {
        return false;
    };
    // Each row sits half a key to the right of the one above it, so a key touches the keys at
    // the same and the next index in the row above, and at the previous and the same index in
    // the row below.
    if ra == rb {
        ca.abs_diff(cb) == 1
    } else if rb + 1 == ra {
        cb == ca || cb == ca + 1
    } else if ra + 1 == rb {
        cb + 1 == ca || cb == ca
    } else {
        false
    }
}

/// Row and column of each key of a QWERTY keyboard, by ASCII code: looked up for every cell of
/// every distance matrix, so a table rather than a search.
const KEYS: [Option<(u8, u8)>; 128] = {
    const ROWS: [&[u8]; 4] = [b"1234567890", b"qwertyuiop", b"asdfghjkl", b"zxcvbnm"];
    let mut table = [None; 128];
    let mut r = 0;
    while r < ROWS.len() {
        let mut c = 0;
        while c < ROWS[r].len() {
            table[ROWS[r][c] as usize] = Some((r as u8, c as u8));
            c += 1;
        }
        r += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_popular_domain_is_a_free_provider() {
        for p in POPULAR {
            assert!(lists::is_free_provider(p), "{p}");
        }
    }

    /// The popular domains of about the typed name's length are all that can be suggested:
    /// the same answers as from all of them, for names up to two edits from each popular one.
    #[test]
    fn popular_names_far_in_length_are_rightly_left_out() {
        let all = all(POPULAR.len());
        let mut typed = Vec::new();
        for p in POPULAR {
            let (name, suffix) = p.split_once('.').unwrap();
            let mut near = vec![name.to_owned()];
            for _ in 0..2 {
                let mut next = Vec::new();
                for n in &near {
                    for i in [0, 1, n.len() / 2, n.len()] {
                        let i = i.min(n.len());
                        next.push(format!("{}{}", &n[..i], n.get(i + 1..).unwrap_or("")));
                        next.push(format!("{}x{}", &n[..i], &n[i..]));
                    }
                }
                near.extend(next);
                near.sort();
                near.dedup();
            }
            typed.extend(
                near.into_iter()
                    .flat_map(|n| [format!("{n}.{suffix}"), format!("{n}.cmo")]),
            );
        }
        let mut suggested = 0;
        for domain in &typed {
            for (no_mail, real) in [(false, false), (false, true), (true, false), (true, true)] {
                let pruned = popular_domain(domain, no_mail, real);
                assert_eq!(
                    pruned,
                    popular_among(domain, no_mail, real, all),
                    "{domain}"
                );
                suggested += usize::from(pruned.is_some());
            }
        }
        eprintln!("{suggested} suggestions of {}", typed.len() * 4);
        assert!(suggested > 5_000, "{suggested} of {}", typed.len() * 4);
    }

    /// The same for the common suffixes of rule 3: suffixes up to two edits from each.
    #[test]
    fn common_suffixes_far_in_length_are_rightly_left_out() {
        let mut suggested = 0;
        let mut checked = 0;
        for common in COMMON_SUFFIXES {
            let mut near = vec![(*common).to_owned()];
            for _ in 0..2 {
                let mut next = Vec::new();
                for n in &near {
                    for i in 0..=n.len() {
                        next.push(format!("{}{}", &n[..i], n.get(i + 1..).unwrap_or("")));
                        next.push(format!("{}q{}", &n[..i], &n[i..]));
                    }
                }
                near.extend(next);
                near.sort();
                near.dedup();
            }
            for tail in near.iter().filter(|n| !n.is_empty()) {
                let domain = format!("shop.{tail}");
                for (no_mail, real) in [(false, false), (true, false), (true, true)] {
                    let pruned = common_suffix(&domain, no_mail, real);
                    let all = common_suffix_among(&domain, no_mail, real, false);
                    assert_eq!(pruned, all, "{domain}");
                    suggested += usize::from(pruned.is_some());
                    checked += 1;
                }
            }
        }
        eprintln!("{suggested} suggestions of {checked}");
        assert!(suggested > 1_500, "{suggested} of {checked}");
    }

    #[test]
    fn every_target_fits_the_distance_matrix() {
        for p in POPULAR {
            let (name, suffix) = p.split_once('.').unwrap();
            assert!(
                name.len() <= MAX_TARGET && suffix.len() <= MAX_TARGET,
                "{p}"
            );
        }
        for s in COMMON_SUFFIXES {
            assert!(s.len() <= MAX_TARGET, "{s}");
        }
    }

    #[test]
    fn suffix_targets_are_real_suffixes() {
        for s in COMMON_SUFFIXES {
            assert!(lists::is_tld(s.rsplit('.').next().unwrap()), "{s}");
        }
    }

    #[test]
    fn keyboard_neighbours() {
        for (a, b) in [
            ("g", "h"),
            ("g", "t"),
            ("g", "y"),
            ("g", "v"),
            ("g", "b"),
            ("m", "n"),
        ] {
            assert!(keys_near(a.as_bytes()[0], b.as_bytes()[0]), "{a}{b}");
            assert!(keys_near(b.as_bytes()[0], a.as_bytes()[0]), "{b}{a}");
        }
        assert!(keys_near(b'o', b'0'));
        assert!(keys_near(b'a', b'e'));
        assert!(keys_near(b'y', b'z'));
        for (a, b) in [
            (b'g', b'r'),
            (b'g', b'n'),
            (b'w', b'y'),
            (b'l', b'm'),
            (b'.', b'c'),
        ] {
            assert!(!keys_near(a, b), "{}{}", a as char, b as char);
        }
    }

    #[test]
    fn distance_counts_typing_edits() {
        assert_eq!(distance("gmail", "gmail", 0), Some(0));
        assert_eq!(distance("gmial", "gmail", 9), Some(NEAR)); // transposition
        assert_eq!(distance("gmai", "gmail", 9), Some(NEAR)); // deletion
        assert_eq!(distance("gmaill", "gmail", 9), Some(NEAR)); // insertion
        assert_eq!(distance("gnail", "gmail", 9), Some(NEAR)); // neighbour key
        assert_eq!(distance("gmaim", "gmail", 9), Some(FAR)); // far key
        assert_eq!(distance("hotmart", "hotmail", 9), Some(2 * FAR));
        assert_eq!(distance("couk", "co.uk", 9), Some(NEAR));
        assert_eq!(distance("", "com", 9), Some(3 * NEAR));
        assert_eq!(distance("gmail", "hotmail", 3), None);
        assert_eq!(distance("a", "abcdef", 9), None);
    }

    #[test]
    fn dns_evidence_decides_the_kind() {
        let lists = Lists::new();
        let hosts = MailRoute::Hosts(Vec::new());
        let hint = suggest(&lists, "a", "gmial.com", Some(&hosts)).unwrap();
        assert_eq!((hint.kind, hint.reason()), (SuggestionKind::Hint, None));
        for route in [
            MailRoute::DomainNotFound,
            MailRoute::NoMailServer,
            MailRoute::NullMx,
        ] {
            let typo = suggest(&lists, "a", "gmial.com", Some(&route)).unwrap();
            assert_eq!(typo.kind, SuggestionKind::PossibleTypo);
            assert_eq!(typo.reason(), Some(ReasonCode::PossibleTypo));
        }
    }

    #[test]
    fn user_allowed_domains_are_left_alone() {
        let mut lists = Lists::new();
        assert!(suggest(&lists, "a", "gmial.com", None).is_some());
        lists.allow_domain("gmial.com").unwrap();
        assert_eq!(suggest(&lists, "a", "gmial.com", None), None);
        lists.set_free_provider("yahooo.com", true).unwrap();
        assert_eq!(suggest(&lists, "a", "yahooo.com", None), None);
    }

    #[test]
    fn strange_input_gets_no_suggestion_and_no_panic() {
        let lists = Lists::new();
        for domain in [
            "",
            ".",
            "..",
            "com",
            "-",
            "a.",
            ".com",
            "xn--",
            "\u{e9}.com",
            "a..com",
        ] {
            let _ = suggest(&lists, "a", domain, None);
            let _ = suggest(&lists, "a", domain, Some(&MailRoute::DomainNotFound));
        }
        assert_eq!(suggest(&lists, "a", "", None), None);
    }
}
