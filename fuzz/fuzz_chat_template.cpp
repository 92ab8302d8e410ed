// Chat templates (the Jinja subset of include/tl/chat_template.h): any bytes are parsed as a template; one
// that parses is rendered over a fixed conversation (with and without the generation prompt). ParseError and
// ValueError (unsupported construct, raise_exception, limits) are the clean rejections; the render limits
// (steps, loop iterations, string work, nesting) keep every input well under the 1 s timeout.
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "tl/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<tl::tok::ChatMessage> conv = {
      {"system", "You are {{ helpful }}."},
      {"user", "Hi! 'quotes' \"double\" \n\t東京 😀 {% if %}"},
      {"assistant", "  Hello.  "},
      {"user", ""}};
  tl::fuzz::expect_clean([&] {
    tl::tok::ChatTemplate t = tl::tok::ChatTemplate::parse(std::string(tl::fuzz::as_text(data, size)), "<fuzz>");
    (void)t.render(conv, true, "<s>", "</s>");
    tl::tok::SpecialTokens sp{"<|begin|>", "<|end|>", "<unk>", ""};
    (void)t.render({conv[1]}, false, sp, {{"date_string", "26 Nov 2026"}});
  });
  return 0;
}
