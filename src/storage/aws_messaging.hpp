#pragma once

// Clients for AWS SQS (JSON protocol) and SNS (query protocol, XML replies)
// over libcurl, which signs every request itself (AWS Signature Version 4,
// CURLOPT_AWS_SIGV4). Offered to the modules above storage: ingest's queue
// loader consumes SQS, and event publishers (model runs) publish to SNS.
// Replies are untrusted: every one is bounded in size and parsed into checked
// values, and anything unexpected is a clear error, never a crash.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::storage::aws {

// Where and as whom to call one AWS service. Resolved by messaging_settings.
struct MessagingSettings {
  std::string service;   // "sqs" or "sns": the SigV4 service name
  std::string endpoint;  // "https://sqs.eu-west-1.amazonaws.com" or a compatible server's URL
  std::string region;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
};

// The settings for `service` ("sqs" or "sns"): `options` first (endpoint,
// region, access_key_id, secret_access_key, session_token; others are
// InvalidInput), then the variables the AWS SDKs read: AWS_ENDPOINT_URL_SQS /
// AWS_ENDPOINT_URL_SNS, AWS_ENDPOINT_URL, AWS_REGION, AWS_DEFAULT_REGION,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN. Without an
// endpoint, `resource_url` (a queue URL) gives one: its scheme and host; else
// the service's AWS endpoint for the region. Without a region, an AWS host
// name's region, else us-east-1. No credentials is InvalidInput naming the
// variables.
MessagingSettings messaging_settings(std::string_view service, const std::map<std::string, std::string>& options,
                                     std::string_view resource_url = {});

// One received SQS message.
struct QueueMessage {
  std::string message_id;
  std::string receipt_handle;
  std::string body;
  std::size_t receive_count = 0;                          // ApproximateReceiveCount (1 on first delivery)
  std::map<std::string, std::string> attributes;          // system attributes (SentTimestamp, ...)
  std::map<std::string, std::string> message_attributes;  // the sender's String attributes
};

// One entry of a batch call that the server refused.
struct BatchEntryFailure {
  std::string id;  // the entry id the request gave
  std::string code;
  std::string message;
  bool sender_fault = false;
};

// An entry of a batch request: an id unique in the batch, and its receipt handle.
struct BatchEntry {
  std::string id;
  std::string receipt_handle;
};

// Largest reply read, and the limits on what a reply may hold.
inline constexpr std::size_t kMaxReplyBytes = std::size_t{32} << 20;
inline constexpr std::size_t kMaxMessageBodyBytes = std::size_t{1} << 20;  // SQS allows 1 MiB
inline constexpr std::size_t kMaxHandleBytes = 8192;
inline constexpr std::size_t kMaxBatchEntries = 10;  // the SQS batch limit

// Reply parsers, separate from the transport so they can be fuzzed. Each
// throws InvalidInput naming what is malformed.
std::vector<QueueMessage> parse_receive_reply(std::string_view body);
std::vector<BatchEntryFailure> parse_batch_reply(std::string_view body);
// A string member of an SQS JSON reply ("QueueUrl", "MessageId", ...).
std::string parse_json_member(std::string_view body, std::string_view member);
// GetQueueAttributes' "Attributes" object.
std::map<std::string, std::string> parse_attributes_reply(std::string_view body);
// The text of the first element named `element` in an SNS XML reply.
std::string parse_xml_member(std::string_view body, std::string_view element);
// The "code: message" of an error reply (SQS JSON "__type"/"message", SNS
// XML Error/Code, Error/Message), or "" when the body says nothing usable.
std::string parse_error_reply(std::string_view body);

class Transport;

// An SQS client. Thread-safe: calls may run at once (a long poll and a
// visibility extension, say), each on its own connection.
class SqsClient {
 public:
  explicit SqsClient(MessagingSettings settings);
  ~SqsClient();
  SqsClient(const SqsClient&) = delete;
  SqsClient& operator=(const SqsClient&) = delete;

  // The queue's URL (created when missing, with `attributes` such as
  // VisibilityTimeout or RedrivePolicy).
  std::string create_queue(const std::string& name, const std::map<std::string, std::string>& attributes = {});
  std::map<std::string, std::string> queue_attributes(const std::string& queue_url,
                                                      const std::vector<std::string>& names = {"All"});
  // Up to `max_messages` (1..10) messages, waiting up to `wait_seconds`
  // (0..20) for the first (long polling); `visibility_timeout` overrides the
  // queue's for these messages.
  std::vector<QueueMessage> receive(const std::string& queue_url, int max_messages, int wait_seconds,
                                    std::optional<int> visibility_timeout = std::nullopt);
  // The new message's id.
  std::string send(const std::string& queue_url, const std::string& body,
                   const std::map<std::string, std::string>& string_attributes = {});
  // At most 10 entries; the entries the server refused.
  std::vector<BatchEntryFailure> delete_batch(const std::string& queue_url, const std::vector<BatchEntry>& entries);
  std::vector<BatchEntryFailure> change_visibility_batch(const std::string& queue_url,
                                                         const std::vector<BatchEntry>& entries, int seconds);
  void change_visibility(const std::string& queue_url, const std::string& receipt_handle, int seconds);

 private:
  std::string call(std::string_view action, const std::string& request, std::chrono::seconds timeout);
  MessagingSettings settings_;
  std::unique_ptr<Transport> transport_;
};

// An SNS client (thread-safe, as SqsClient).
class SnsClient {
 public:
  explicit SnsClient(MessagingSettings settings);
  ~SnsClient();
  SnsClient(const SnsClient&) = delete;
  SnsClient& operator=(const SnsClient&) = delete;

  // The topic's ARN (created when missing).
  std::string create_topic(const std::string& name);
  // The subscription's ARN. For protocol "sqs", `endpoint` is the queue's ARN;
  // `raw_delivery` sends the message without the SNS envelope.
  std::string subscribe(const std::string& topic_arn, const std::string& protocol, const std::string& endpoint,
                        bool raw_delivery = false);
  // The published message's id. `string_attributes`: message attributes of
  // type String (at most 10, as SNS allows), which reach subscribed queues.
  std::string publish(const std::string& topic_arn, const std::string& message, const std::string& subject = {},
                      const std::map<std::string, std::string>& string_attributes = {});

 private:
  std::string call(const std::vector<std::pair<std::string, std::string>>& parameters);
  MessagingSettings settings_;
  std::unique_ptr<Transport> transport_;
};

}  // namespace tessera::storage::aws
