// UTF-8 handling and the Unicode properties the components need. Properties, case mapping and the
// normalisation forms come from ICU (the Rust crates tokenizers uses are table-driven the same way); UTF-8
// itself is decoded here so that invalid input is reported with its byte offset.
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "internal.h"

namespace tl::tok {

namespace {
// Length of the valid UTF-8 sequence at s[i], or 0 when it is invalid (overlong, surrogate, > U+10FFFF,
// truncated). Follows the Unicode "well-formed byte sequences" table exactly.
size_t valid_seq(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = s.size();
  if (c < 0x80) return 1;
  auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) { return k < n && b(k) >= lo && b(k) <= hi; };
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c == 0xE0) return cont(i + 1, 0xA0) && cont(i + 2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(i + 1) && cont(i + 2) ? 3 : 0;
  if (c == 0xED) return cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0;
  if (c == 0xF0) return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (c == 0xF4) return cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  return 0;
}

// Number of bytes of the maximal prefix of an invalid sequence at s[i] (at least 1): the unit that
// from_utf8_lossy replaces by one U+FFFD.
size_t invalid_prefix(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t need;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) need = 1;
  else if (c >= 0xE0 && c <= 0xEF) need = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
  else if (c >= 0xF0 && c <= 0xF4) need = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
  else return 1;
  size_t k = i + 1;
  for (size_t j = 0; j < need && k < s.size(); ++j, ++k) {
    unsigned x = b(k);
    if (j == 0 ? (x < lo || x > hi) : (x < 0x80 || x > 0xBF)) break;
  }
  return k - i;
}

const UNormalizer2* norm_instance(NormForm f) {
  UErrorCode e = U_ZERO_ERROR;
  const UNormalizer2* n = nullptr;
  switch (f) {
    case NormForm::NFC: n = unorm2_getNFCInstance(&e); break;
    case NormForm::NFD: n = unorm2_getNFDInstance(&e); break;
    case NormForm::NFKC: n = unorm2_getNFKCInstance(&e); break;
    case NormForm::NFKD: n = unorm2_getNFKDInstance(&e); break;
  }
  if (U_FAILURE(e) || !n) TL_THROW(InternalError, "[tokenizer] ICU normaliser unavailable: ", u_errorName(e));
  return n;
}

std::u16string to_u16(std::string_view s) {
  std::u16string out(s.size() + 1, u'\0');
  int32_t len = 0;
  UErrorCode e = U_ZERO_ERROR;
  u_strFromUTF8(reinterpret_cast<UChar*>(out.data()), int32_t(out.size()), &len, s.data(), int32_t(s.size()), &e);
  if (U_FAILURE(e)) TL_THROW(ValueError, "[tokenizer] UTF-8 to UTF-16 conversion failed: ", u_errorName(e));
  out.resize(size_t(len));
  return out;
}

std::string from_u16(const std::u16string& s) {
  std::string out(s.size() * 3 + 1, '\0');
  int32_t len = 0;
  UErrorCode e = U_ZERO_ERROR;
  u_strToUTF8(out.data(), int32_t(out.size()), &len, reinterpret_cast<const UChar*>(s.data()), int32_t(s.size()), &e);
  if (U_FAILURE(e)) TL_THROW(ValueError, "[tokenizer] UTF-16 to UTF-8 conversion failed: ", u_errorName(e));
  out.resize(size_t(len));
  return out;
}
}  // namespace

void check_utf8(std::string_view s, const char* what) {
  for (size_t i = 0; i < s.size();) {
    size_t n = valid_seq(s, i);
    if (n == 0)
      TL_THROW(ValueError, "[tokenizer] ", what, " is not valid UTF-8: invalid byte 0x", std::hex,
               int(static_cast<unsigned char>(s[i])), std::dec, " at byte offset ", i);
    i += n;
  }
}

std::u32string to_u32(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = utf8_len(c);
    if (i + n > s.size()) n = 1;
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(char(c));
  } else if (c < 0x800) {
    out.push_back(char(0xC0 | (c >> 6)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(char(0xE0 | (c >> 12)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (c >> 18)));
    out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  }
}

std::string to_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    size_t n = valid_seq(bytes, i);
    if (n) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      out.append("\xEF\xBF\xBD");
      i += invalid_prefix(bytes, i);
    }
  }
  return out;
}

bool is_whitespace(char32_t c) { return u_hasBinaryProperty(UChar32(c), UCHAR_WHITE_SPACE); }

bool is_ascii_punctuation(char32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

bool is_punctuation(char32_t c) {
  switch (u_charType(UChar32(c))) {
    case U_CONNECTOR_PUNCTUATION: case U_DASH_PUNCTUATION: case U_START_PUNCTUATION: case U_END_PUNCTUATION:
    case U_INITIAL_PUNCTUATION: case U_FINAL_PUNCTUATION: case U_OTHER_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

bool is_numeric(char32_t c) {
  auto t = u_charType(UChar32(c));
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

bool is_other(char32_t c) {
  auto t = u_charType(UChar32(c));
  return t == U_CONTROL_CHAR || t == U_FORMAT_CHAR || t == U_UNASSIGNED || t == U_PRIVATE_USE_CHAR || t == U_SURROGATE;
}

bool is_mark_nonspacing(char32_t c) { return u_charType(UChar32(c)) == U_NON_SPACING_MARK; }

bool is_combining_mark(char32_t c) {
  auto t = u_charType(UChar32(c));
  return t == U_NON_SPACING_MARK || t == U_COMBINING_SPACING_MARK || t == U_ENCLOSING_MARK;
}

bool is_word_char(char32_t c) {
  auto t = u_charType(UChar32(c));
  return u_hasBinaryProperty(UChar32(c), UCHAR_ALPHABETIC) || t == U_NON_SPACING_MARK || t == U_COMBINING_SPACING_MARK ||
         t == U_ENCLOSING_MARK || t == U_DECIMAL_DIGIT_NUMBER || t == U_CONNECTOR_PUNCTUATION ||
         u_hasBinaryProperty(UChar32(c), UCHAR_JOIN_CONTROL);
}

std::string normalize_form(std::string_view s, NormForm f) {
  const UNormalizer2* n = norm_instance(f);
  std::u16string in = to_u16(s);
  UErrorCode e = U_ZERO_ERROR;
  int32_t need = unorm2_normalize(n, reinterpret_cast<const UChar*>(in.data()), int32_t(in.size()), nullptr, 0, &e);
  if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e)) TL_THROW(ValueError, "[tokenizer] normalisation failed: ", u_errorName(e));
  std::u16string out(size_t(need) + 1, u'\0');
  e = U_ZERO_ERROR;
  int32_t len = unorm2_normalize(n, reinterpret_cast<const UChar*>(in.data()), int32_t(in.size()),
                                 reinterpret_cast<UChar*>(out.data()), int32_t(out.size()), &e);
  if (U_FAILURE(e)) TL_THROW(ValueError, "[tokenizer] normalisation failed: ", u_errorName(e));
  out.resize(size_t(len));
  return from_u16(out);
}

std::string lowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(b >= 'A' && b <= 'Z' ? char(b + 32) : char(b));
      ++i;
      continue;
    }
    size_t n = std::min(utf8_len(b), s.size() - i);
    char32_t c = to_u32(s.substr(i, n))[0];
    i += n;
    // One character at a time, so ICU applies no context (final sigma), like Rust's char::to_lowercase.
    UChar src[2];
    int32_t slen = 0;
    U16_APPEND_UNSAFE(src, slen, c);
    UChar dst[8];
    UErrorCode e = U_ZERO_ERROR;
    int32_t dlen = u_strToLower(dst, 8, src, slen, "", &e);
    if (U_FAILURE(e)) {
      append_utf8(out, c);
      continue;
    }
    for (int32_t k = 0; k < dlen;) {
      UChar32 cp;
      U16_NEXT_UNSAFE(dst, k, cp);
      append_utf8(out, char32_t(cp));
    }
  }
  return out;
}

}  // namespace tl::tok
