// The browser's Unicode support, lent to mailvet-core's address parser (built without its own
// tables, feature `idna` off): src/lib.rs implements the core's `syntax::Unicode` trait with
// these functions. They answer questions; every rule stays in the core.

// UTS #46 through the WHATWG URL parser (nontransitional, CheckBidi, CheckJoiners; the core
// adds UseSTD3ASCIIRules and CheckHyphens). The extra label `x` keeps a domain that ends in a
// number from being read as an IPv4 address (URL Standard, "ends in a number").
export function to_ascii(domain) {
  try {
    const host = new URL(`http://${domain}.x/`).hostname;
    return host.endsWith(".x") ? host.slice(0, -2) : undefined;
  } catch {
    return undefined;
  }
}

// Punycode, RFC 3492 §5 parameters and §6 algorithms, with 32-bit overflow checks (§6.4).
const BASE = 36;
const TMIN = 1;
const TMAX = 26;
const MAX = 0xffffffff;

function threshold(k, bias) {
  return k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
}

// RFC 3492 §6.1
function adapt(delta, points, first) {
  delta = first ? Math.floor(delta / 700) : Math.floor(delta / 2);
  delta += Math.floor(delta / points);
  let k = 0;
  while (delta > ((BASE - TMIN) * TMAX) / 2) {
    delta = Math.floor(delta / (BASE - TMIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - TMIN + 1) * delta) / (delta + 38));
}

// RFC 3492 §5: a-z (either case) are 0-25, 0-9 are 26-35.
function digitValue(code) {
  if (code >= 48 && code <= 57) return code - 22;
  if (code >= 65 && code <= 90) return code - 65;
  if (code >= 97 && code <= 122) return code - 97;
  return BASE;
}

// RFC 3492 §6.2; undefined for bad input.
export function punycode_decode(input) {
  const output = [];
  const delimiter = input.lastIndexOf("-");
  for (let j = 0; j < delimiter; j++) {
    const code = input.charCodeAt(j);
    if (code >= 0x80) return undefined;
    output.push(code);
  }
  let n = 0x80;
  let i = 0;
  let bias = 72;
  for (let at = delimiter + 1; at < input.length; ) {
    const old = i;
    for (let w = 1, k = BASE; ; k += BASE) {
      if (at >= input.length) return undefined;
      const digit = digitValue(input.charCodeAt(at++));
      if (digit >= BASE) return undefined;
      i += digit * w;
      const t = threshold(k, bias);
      if (digit < t) break;
      w *= BASE - t;
      if (i > MAX || w > MAX) return undefined;
    }
    if (i > MAX) return undefined;
    bias = adapt(i - old, output.length + 1, old === 0);
    n += Math.floor(i / (output.length + 1));
    i %= output.length + 1;
    if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return undefined;
    output.splice(i++, 0, n);
  }
  return String.fromCodePoint(...output);
}

// RFC 3492 §6.3
export function punycode_encode(input) {
  const points = Array.from(input, (c) => c.codePointAt(0));
  let output = points.filter((c) => c < 0x80).map((c) => String.fromCharCode(c)).join("");
  const basic = output.length;
  let handled = basic;
  if (basic > 0) output += "-";
  let n = 0x80;
  let delta = 0;
  let bias = 72;
  const digit = (d) => String.fromCharCode(d < 26 ? 97 + d : 22 + d);
  while (handled < points.length) {
    const m = Math.min(...points.filter((c) => c >= n));
    delta += (m - n) * (handled + 1);
    if (delta > MAX) return undefined;
    n = m;
    for (const c of points) {
      if (c < n && ++delta > MAX) return undefined;
      if (c !== n) continue;
      let q = delta;
      for (let k = BASE; ; k += BASE) {
        const t = threshold(k, bias);
        if (q < t) break;
        output += digit(t + ((q - t) % (BASE - t)));
        q = Math.floor((q - t) / (BASE - t));
      }
      output += digit(q);
      bias = adapt(delta, handled + 1, handled === basic);
      delta = 0;
      handled++;
    }
    delta++;
    n++;
  }
  return output;
}

export function nfc(text) {
  return text.normalize("NFC");
}

// The General_Category values in the order of the core's `GeneralCategory::ALL` (UAX #44).
const CATEGORIES = "Lu Ll Lt Lm Lo Mn Mc Me Nd Nl No Pc Pd Ps Pe Pi Pf Po Sm Sc Sk So Zs Zl Zp Cc Cf Cs Co Cn";
let categoryPattern;

export function general_category(code) {
  categoryPattern ??= new RegExp(
    CATEGORIES.split(" ").map((c) => `(\\p{gc=${c}})`).join("|"),
    "u",
  );
  const match = categoryPattern.exec(String.fromCodePoint(code));
  return match ? match.indexOf(match[0], 1) - 1 : 29;
}

let ignorablePattern;

export function is_default_ignorable(code) {
  ignorablePattern ??= /\p{Default_Ignorable_Code_Point}/u;
  return ignorablePattern.test(String.fromCodePoint(code));
}
