// A list file in the browser: its bytes decoded to text, its first rows parsed, the address
// column guessed. The Worker decides again when it reads the upload (crates/core/src/table,
// `Dialect::sniff` and `Layout::detect`); these mirror those rules so that the preview shows
// what the job will use, and the column the user picks is sent by number.

/** Encodings offered in the picker; `auto` reads a byte order mark, else UTF-8, else Big5. */
export const ENCODINGS = ["auto", "utf-8", "big5", "gbk", "shift_jis", "utf-16le", "windows-1252"];

/** How much of a file the preview reads. */
export const PREVIEW_BYTES = 256 * 1024;

/** The encoding a byte order mark names, or null. */
export function bomEncoding(bytes) {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return "utf-8";
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  return null;
}

/**
 * Decodes the start of a file (`bytes`, the whole file when `complete`): `{ text, encoding }`. With `auto`, a byte order mark
 * decides, else the bytes are UTF-8 if they decode as UTF-8, else Big5 (what Excel on
 * Traditional Chinese Windows saves).
 */
export function decodeStart(bytes, complete, chosen = "auto") {
  let encoding = chosen;
  if (chosen === "auto") {
    encoding = bomEncoding(bytes);
    if (!encoding) {
      try {
        // `stream`: a character cut at the end of the sample is not an error.
        new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: !complete });
        encoding = "utf-8";
      } catch {
        encoding = "big5";
      }
    }
  }
  const text = new TextDecoder(encoding).decode(bytes, { stream: !complete });
  return { text, encoding };
}

/**
 * What to upload: the file itself when the Worker reads it as it is (UTF-8, or UTF-16 with its
 * byte order mark), else the whole file decoded here, which `fetch` sends as UTF-8.
 */
export async function uploadBody(file, encoding) {
  const head = new Uint8Array(await file.slice(0, 3).arrayBuffer());
  const bom = bomEncoding(head);
  if (encoding === "utf-8" || (bom && bom === encoding)) return file;
  return new TextDecoder(encoding).decode(await file.arrayBuffer());
}

/**
 * Rows of `text` split by `delimiter` (RFC 4180, leniently: a quote opens a quoted field only
 * at its start; a blank line is a row of one empty cell), at most `max`. `complete` says the
 * text is the whole file; otherwise the last, perhaps cut, row is left out.
 */
export function parseRows(text, delimiter, max = Infinity, complete = true) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  let i = 0;
  for (; i < text.length && rows.length < max; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') (field += '"'), i++;
      else quoted = false;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === delimiter) row.push(field), (field = "");
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (complete && i >= text.length && (field !== "" || row.length)) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** The delimiter that splits the first 20 rows most consistently (`Dialect::sniff`). */
export function sniffDelimiter(text) {
  let best = [0, 0, ","];
  for (const delimiter of [",", ";", "\t"]) {
    const widths = parseRows(text, delimiter, 20, false)
      .map((r) => r.length)
      .sort((a, b) => a - b);
    let width = 0;
    let lines = 0;
    for (let i = 0; i < widths.length; ) {
      let j = i;
      while (j < widths.length && widths[j] === widths[i]) j++;
      if (widths[i] > 1 && j - i >= lines) [width, lines] = [widths[i], j - i];
      i = j;
    }
    if (lines > best[0] || (lines === best[0] && width > best[1])) best = [lines, width, delimiter];
  }
  return best[2];
}

/** Header names that say "email address", compared after `headerKey` (`EMAIL_HEADERS`). */
const EMAIL_HEADERS = [
  "email", "emailaddress", "e-mail", "e-mailaddress", "mail", "mailaddress", "emails",
  "電郵", "電子郵件", "電子郵件地址", "電郵地址", "郵箱", "信箱", "电子邮件", "电邮", "邮箱",
];

const headerKey = (h) => h.trim().replace(/[:：]+$/, "").replace(/[\s_]/g, "").toLowerCase();

/** Text on both sides of an `@`. */
export function looksLikeAddress(cell) {
  const s = cell.trim();
  const at = s.indexOf("@");
  return at > 0 && at < s.length - 1;
}

/**
 * The address column (from 0) and whether row 1 is a header, as `Layout::detect` decides
 * without a `column`: a header named like email, else the column with the most cells that
 * look like addresses. `wanted` (from 0) is the user's choice. `found` is false where the core
 * finds no column (several columns, no address): the preview then offers the first. The tables
 * of tests/data/layouts.json hold this copy of the rule and the core's to the same answers.
 */
export function detectLayout(rows, wanted) {
  const first = rows[0] || [];
  const width = Math.max(0, ...rows.map((r) => r.length));
  const headerAt = (c) => !(first[c] !== undefined && looksLikeAddress(first[c]));
  if (wanted !== undefined) return { column: wanted, header: headerAt(wanted) && rows.length > 1, found: true };
  const keys = first.map(headerKey);
  for (const name of EMAIL_HEADERS) {
    const column = keys.indexOf(name);
    if (column >= 0) return { column, header: true, found: true };
  }
  const named = keys.findIndex((k) => k.includes("email"));
  if (named >= 0) return { column: named, header: true, found: true };
  let best = [0, 0];
  for (let c = 0; c < width; c++) {
    const n = rows.filter((r) => r[c] !== undefined && looksLikeAddress(r[c])).length;
    if (n > best[1]) best = [c, n];
  }
  if (best[1] > 0) return { column: best[0], header: headerAt(best[0]), found: true };
  return { column: 0, header: false, found: width <= 1 };
}

/** The preview of a file's start: delimiter, rows (up to 40), width and the guessed layout. */
export function preview(text, complete) {
  const delimiter = sniffDelimiter(text);
  const rows = parseRows(text, delimiter, 40, complete);
  const width = Math.max(1, ...rows.map((r) => r.length));
  return { delimiter, rows, width, layout: detectLayout(rows) };
}
