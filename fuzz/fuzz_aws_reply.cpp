// Replies of an SQS/SNS-compatible server, as the queue loader and event
// publishers read them: ReceiveMessage (messages, attributes, receive
// counts), batch results, single members, SNS XML and error replies. A server
// is outside input: a reply may be refused only with InvalidInput.

#include <string>

#include "fuzz_support.hpp"
#include "storage/aws_messaging.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace aws = tessera::storage::aws;
  const auto text = tessera::fuzz::as_text(data, size);
  tessera::fuzz::accepted([&] { (void)aws::parse_receive_reply(text); });
  tessera::fuzz::accepted([&] { (void)aws::parse_batch_reply(text); });
  tessera::fuzz::accepted([&] { (void)aws::parse_attributes_reply(text); });
  tessera::fuzz::accepted([&] { (void)aws::parse_json_member(text, "QueueUrl"); });
  tessera::fuzz::accepted([&] { (void)aws::parse_xml_member(text, "TopicArn"); });
  // Error replies are only described, never refused.
  if (aws::parse_error_reply(text).size() > 1024) {
    tessera::fuzz::finding("parse_error_reply", "the description is longer than 1 KiB");
  }
  return 0;
}
