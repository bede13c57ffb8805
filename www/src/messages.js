// The widget's own sentences, by language. A reason code (or, for invalid_syntax, the syntax
// error code) picks a sentence; `typo` frames the suggestion button where "{}" stands.
// Codes without a sentence (unknown and informational reasons) show nothing.

const en = {
  typo: "Did you mean {}?",
  syntax: "This is not a valid email address.",
  at: "An email address needs an @ sign.",
  ats: "An email address has only one @ sign.",
  space: "An email address cannot contain spaces.",
  name: "Enter only the address, without a name or <>.",
  local: "The part before the @ is not valid.",
  domain: "The part after the @ is not a valid domain.",
  long: "This address is too long.",
  domain_not_found: "This domain does not exist.",
  no_mail: "This domain does not accept email.",
  mailbox_not_found: "This mailbox does not exist.",
  mailbox_full: "This mailbox is full.",
  disposable: "Disposable addresses are not accepted. Please use a permanent one.",
  disposable_warn: "This looks like a disposable address.",
  role_account: "This is a shared address (like info@). A personal one is better.",
  risky: "This mailbox could not be confirmed.",
  offline: "The address could not be checked. Please try again.",
};

const zhHant = {
  typo: "您是不是要輸入 {}？",
  syntax: "這不是有效的電子郵件地址。",
  at: "電子郵件地址需要 @ 符號。",
  ats: "電子郵件地址只能有一個 @ 符號。",
  space: "電子郵件地址不能有空格。",
  name: "請只輸入地址，不要加上姓名或 <>。",
  local: "@ 前面的部分無效。",
  domain: "@ 後面的網域無效。",
  long: "這個地址太長了。",
  domain_not_found: "這個網域不存在。",
  no_mail: "這個網域不接收電子郵件。",
  mailbox_not_found: "這個信箱不存在。",
  mailbox_full: "這個信箱已滿。",
  disposable: "不接受拋棄式信箱，請使用常用的電子郵件地址。",
  disposable_warn: "這看起來是拋棄式信箱。",
  role_account: "這是共用信箱（例如 info@），建議使用個人信箱。",
  risky: "無法確認這個信箱。",
  offline: "目前無法驗證這個地址，請稍後再試。",
};

/** The sentences for a BCP 47 tag: Traditional Chinese for zh-Hant, zh-TW, zh-HK, zh-MO. */
export function sentences(lang) {
  return /^zh-(hant|tw|hk|mo)\b/i.test(lang || "") ? zhHant : en;
}

/** The sentence key for a syntax error code (mailvet_core::syntax::SyntaxErrorCode). */
export function syntaxKey(code) {
  if (code === "missing_at") return "at";
  if (code === "multiple_at") return "ats";
  if (/whitespace/.test(code)) return "space";
  if (code === "display_name") return "name";
  if (/too_long/.test(code)) return "long";
  if (/domain|idna|a_label|tld|literal/.test(code)) return "domain";
  return code === "empty" ? "" : "local";
}
