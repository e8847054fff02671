#include "storage/aws_messaging.hpp"

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tessera/error.hpp"

namespace tessera::storage::aws {

using nlohmann::json;

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::string first_of(std::initializer_list<std::string> candidates) {
  for (const auto& candidate : candidates) {
    if (!candidate.empty()) {
      return candidate;
    }
  }
  return {};
}

// "https://host[:port]" of a URL, or "" when it is not an http(s) URL.
std::string origin_of(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos || (url.substr(0, scheme) != "http" && url.substr(0, scheme) != "https")) {
    return {};
  }
  const std::size_t path = url.find('/', scheme + 3);
  return std::string(url.substr(0, path));
}

// The region in an AWS host name ("sqs.eu-west-1.amazonaws.com"), or "".
std::string region_of_host(std::string_view origin, std::string_view service) {
  const std::string marker = fmt::format("://{}.", service);
  const std::size_t start = origin.find(marker);
  if (start == std::string_view::npos) {
    return {};
  }
  const std::size_t region_start = start + marker.size();
  const std::size_t dot = origin.find('.', region_start);
  if (dot == std::string_view::npos || origin.substr(dot).rfind(".amazonaws.com", 0) != 0) {
    return {};
  }
  return std::string(origin.substr(region_start, dot - region_start));
}

const json& checked_object(const json& value, std::string_view what) {
  if (!value.is_object()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("AWS reply: {} is a JSON {}, not an object", what, value.type_name()));
  }
  return value;
}

std::string bounded_string(const json& object, const char* member, std::size_t limit, std::string_view where) {
  const auto it = object.find(member);
  if (it == object.end() || !it->is_string()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("AWS reply: {} has no string '{}'", where, member));
  }
  const auto& text = it->get_ref<const std::string&>();
  if (text.size() > limit) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("AWS reply: {}'s '{}' has {} bytes, more than {}", where, member, text.size(), limit));
  }
  return text;
}

json parse_json_reply(std::string_view body) {
  if (body.size() > kMaxReplyBytes) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("AWS reply of {} bytes is larger than {}", body.size(), kMaxReplyBytes));
  }
  json value = json::parse(body.begin(), body.end(), nullptr, false);
  if (value.is_discarded()) {
    throw Error(ErrorCode::kInvalidInput, "AWS reply is not valid JSON");
  }
  return value;
}

std::map<std::string, std::string> string_map(const json& object, std::string_view where) {
  std::map<std::string, std::string> result;
  checked_object(object, where);
  if (object.size() > 64) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("AWS reply: {} has {} members, more than 64", where, object.size()));
  }
  for (const auto& [name, value] : object.items()) {
    if (!value.is_string() || value.get_ref<const std::string&>().size() > kMaxHandleBytes || name.size() > 256) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("AWS reply: {}.{} is not a short string", where, name));
    }
    result[name] = value.get<std::string>();
  }
  return result;
}

struct XmlDocFree {
  void operator()(xmlDoc* doc) const noexcept { xmlFreeDoc(doc); }
};

// The text of the first element named `name` (document order), if any.
std::optional<std::string> xml_find(std::string_view body, std::string_view name) {
  if (body.size() > kMaxReplyBytes) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("AWS reply of {} bytes is larger than {}", body.size(), kMaxReplyBytes));
  }
  // No network, no entity substitution, no DTD loading: only the tree.
  std::unique_ptr<xmlDoc, XmlDocFree> doc(
      xmlReadMemory(body.data(), static_cast<int>(body.size()), "reply.xml", nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS));
  if (!doc) {
    throw Error(ErrorCode::kInvalidInput, "AWS reply is not well-formed XML");
  }
  // Depth-first, without recursion (the nesting is the sender's choice).
  std::vector<xmlNode*> pending{xmlDocGetRootElement(doc.get())};
  while (!pending.empty()) {
    xmlNode* node = pending.back();
    pending.pop_back();
    for (; node != nullptr; node = node->next) {
      if (node->type != XML_ELEMENT_NODE) {
        continue;
      }
      if (std::string_view(reinterpret_cast<const char*>(node->name)) == name) {
        xmlChar* content = xmlNodeGetContent(node);
        std::string text = content != nullptr ? reinterpret_cast<const char*>(content) : "";
        xmlFree(content);
        return text;
      }
      if (node->children != nullptr) {
        if (node->next != nullptr) {
          pending.push_back(node->next);
        }
        pending.push_back(node->children);
        break;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

MessagingSettings messaging_settings(std::string_view service, const std::map<std::string, std::string>& options,
                                     std::string_view resource_url) {
  static const char* const kKnown[] = {"endpoint", "region", "access_key_id", "secret_access_key", "session_token"};
  for (const auto& option : options) {
    if (std::find(std::begin(kKnown), std::end(kKnown), option.first) == std::end(kKnown)) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("unknown {} option '{}' (known: endpoint, region, access_key_id, secret_access_key, "
                              "session_token)",
                              service, option.first));
    }
  }
  const auto option = [&](const char* name) {
    const auto it = options.find(name);
    return it != options.end() ? it->second : std::string();
  };
  std::string upper(service);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  MessagingSettings settings;
  settings.service = std::string(service);
  const std::string origin = origin_of(resource_url);
  settings.region = first_of(
      {option("region"), env("AWS_REGION"), env("AWS_DEFAULT_REGION"), region_of_host(origin, service), "us-east-1"});
  settings.endpoint = first_of({option("endpoint"), env(("AWS_ENDPOINT_URL_" + upper).c_str()), env("AWS_ENDPOINT_URL"),
                                origin, fmt::format("https://{}.{}.amazonaws.com", service, settings.region)});
  while (settings.endpoint.ends_with('/')) {
    settings.endpoint.pop_back();
  }
  if (origin_of(settings.endpoint).empty()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{} endpoint '{}' is not an http:// or https:// URL", service, settings.endpoint));
  }
  settings.access_key_id = first_of({option("access_key_id"), env("AWS_ACCESS_KEY_ID")});
  settings.secret_access_key = first_of({option("secret_access_key"), env("AWS_SECRET_ACCESS_KEY")});
  settings.session_token = first_of({option("session_token"), env("AWS_SESSION_TOKEN")});
  if (settings.access_key_id.empty() || settings.secret_access_key.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("no AWS credentials for {}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
                            "AWS_SESSION_TOKEN for temporary ones) or pass access_key_id and secret_access_key",
                            service));
  }
  for (const std::string* text : {&settings.region, &settings.access_key_id}) {
    if (text->find_first_of(":\r\n") != std::string::npos) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{} region or access key holds ':' or a line break", service));
    }
  }
  return settings;
}

std::vector<QueueMessage> parse_receive_reply(std::string_view body) {
  const json reply = parse_json_reply(body);
  checked_object(reply, "ReceiveMessage reply");
  std::vector<QueueMessage> messages;
  const auto list = reply.find("Messages");
  if (list == reply.end() || list->is_null()) {
    return messages;  // an empty poll
  }
  if (!list->is_array() || list->size() > kMaxBatchEntries) {
    throw Error(ErrorCode::kInvalidInput, "AWS reply: Messages is not an array of at most 10 messages");
  }
  for (std::size_t n = 0; n < list->size(); ++n) {
    const json& entry = checked_object((*list)[n], fmt::format("Messages[{}]", n));
    const std::string where = fmt::format("Messages[{}]", n);
    QueueMessage message;
    message.message_id = bounded_string(entry, "MessageId", kMaxHandleBytes, where);
    message.receipt_handle = bounded_string(entry, "ReceiptHandle", kMaxHandleBytes, where);
    message.body = bounded_string(entry, "Body", kMaxMessageBodyBytes, where);
    if (const auto attributes = entry.find("Attributes"); attributes != entry.end()) {
      message.attributes = string_map(*attributes, where + ".Attributes");
    }
    if (const auto attributes = entry.find("MessageAttributes"); attributes != entry.end()) {
      checked_object(*attributes, where + ".MessageAttributes");
      if (attributes->size() > 64) {
        throw Error(ErrorCode::kInvalidInput, fmt::format("AWS reply: {}.MessageAttributes has more than 64", where));
      }
      for (const auto& [name, value] : attributes->items()) {
        const json& attribute = checked_object(value, where + ".MessageAttributes." + name);
        if (const auto text = attribute.find("StringValue"); text != attribute.end() && text->is_string()) {
          message.message_attributes[name] =
              bounded_string(attribute, "StringValue", kMaxMessageBodyBytes, where + ".MessageAttributes");
        }
      }
    }
    if (const auto count = message.attributes.find("ApproximateReceiveCount"); count != message.attributes.end()) {
      const std::string& text = count->second;
      if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("AWS reply: {}.ApproximateReceiveCount '{}' is not a count", where, text));
      }
      message.receive_count = std::stoul(text);
    }
    messages.push_back(std::move(message));
  }
  return messages;
}

std::vector<BatchEntryFailure> parse_batch_reply(std::string_view body) {
  const json reply = parse_json_reply(body);
  checked_object(reply, "batch reply");
  std::vector<BatchEntryFailure> failures;
  const auto list = reply.find("Failed");
  if (list == reply.end() || list->is_null()) {
    return failures;
  }
  if (!list->is_array() || list->size() > kMaxBatchEntries) {
    throw Error(ErrorCode::kInvalidInput, "AWS reply: Failed is not an array of at most 10 entries");
  }
  for (std::size_t n = 0; n < list->size(); ++n) {
    const std::string where = fmt::format("Failed[{}]", n);
    const json& entry = checked_object((*list)[n], where);
    BatchEntryFailure failure;
    failure.id = bounded_string(entry, "Id", 80, where);
    failure.code = bounded_string(entry, "Code", 256, where);
    if (const auto message = entry.find("Message"); message != entry.end() && message->is_string()) {
      failure.message = message->get<std::string>().substr(0, 1024);
    }
    if (const auto fault = entry.find("SenderFault"); fault != entry.end() && fault->is_boolean()) {
      failure.sender_fault = fault->get<bool>();
    }
    failures.push_back(std::move(failure));
  }
  return failures;
}

std::string parse_json_member(std::string_view body, std::string_view member) {
  const json reply = parse_json_reply(body);
  checked_object(reply, "reply");
  return bounded_string(reply, std::string(member).c_str(), kMaxHandleBytes, "reply");
}

std::map<std::string, std::string> parse_attributes_reply(std::string_view body) {
  const json reply = parse_json_reply(body);
  checked_object(reply, "GetQueueAttributes reply");
  const auto attributes = reply.find("Attributes");
  if (attributes == reply.end()) {
    return {};
  }
  return string_map(*attributes, "Attributes");
}

std::string parse_xml_member(std::string_view body, std::string_view element) {
  auto text = xml_find(body, element);
  if (!text) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("AWS reply has no <{}> element", element));
  }
  if (text->size() > kMaxHandleBytes) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("AWS reply: <{}> has {} bytes, more than {}", element, text->size(), kMaxHandleBytes));
  }
  return std::move(*text);
}

std::string parse_error_reply(std::string_view body) {
  const auto shorten = [](std::string text) { return text.size() > 512 ? text.substr(0, 512) + "..." : text; };
  if (body.size() > kMaxReplyBytes) {
    return {};
  }
  const json reply = json::parse(body.begin(), body.end(), nullptr, false);
  if (reply.is_object()) {
    std::string type;
    if (const auto it = reply.find("__type"); it != reply.end() && it->is_string()) {
      type = it->get<std::string>();
      type = type.substr(type.rfind('#') == std::string::npos ? 0 : type.rfind('#') + 1);
    }
    std::string message;
    for (const char* name : {"message", "Message"}) {
      if (const auto it = reply.find(name); it != reply.end() && it->is_string()) {
        message = it->get<std::string>();
        break;
      }
    }
    return type.empty() && message.empty() ? std::string() : shorten(type + ": " + message);
  }
  try {
    const auto code = xml_find(body, "Code");
    const auto message = xml_find(body, "Message");
    if (code || message) {
      return shorten(code.value_or("") + ": " + message.value_or(""));
    }
  } catch (const Error&) {
    // Neither JSON nor XML: the status alone says what happened.
  }
  return {};
}

// POSTs signed requests, one connection per concurrent call, connections kept
// for reuse.
class Transport {
 public:
  explicit Transport(const MessagingSettings& settings)
      : url_(settings.endpoint + "/"),
        sigv4_(fmt::format("aws:amz:{}:{}", settings.region, settings.service)),
        credentials_(settings.access_key_id + ":" + settings.secret_access_key),
        session_token_(settings.session_token),
        service_(settings.service) {}
  ~Transport() {
    for (CURL* handle : idle_) {
      curl_easy_cleanup(handle);
    }
  }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // The reply body of a 2xx answer. Transient failures (connection errors,
  // 5xx, throttling) are retried with backoff, then are Unavailable; other
  // refusals are InvalidInput (NotFound for a missing queue or topic) with
  // the server's code and message.
  std::string post(std::string_view what, const std::string& body, const std::vector<std::string>& headers,
                   std::chrono::seconds timeout) {
    constexpr int kAttempts = 4;
    for (int attempt = 1;; ++attempt) {
      long status = 0;
      std::string reply;
      const CURLcode code = perform(body, headers, timeout, status, reply);
      std::string reason;
      if (code != CURLE_OK) {
        reason = code == CURLE_WRITE_ERROR ? fmt::format("reply larger than {} bytes", kMaxReplyBytes)
                                           : curl_easy_strerror(code);
        if (code == CURLE_WRITE_ERROR) {
          throw Error(ErrorCode::kInvalidInput, fmt::format("{} {}: {}", service_, what, reason));
        }
      } else if (status >= 200 && status < 300) {
        return reply;
      } else {
        reason = parse_error_reply(reply);
        const bool throttled = status == 429 || reason.find("Throttl") != std::string::npos ||
                               reason.find("RequestThrottled") != std::string::npos;
        if (status < 500 && !throttled) {
          const bool missing = reason.find("NonExistentQueue") != std::string::npos ||
                               reason.find("QueueDoesNotExist") != std::string::npos ||
                               reason.find("NotFound") != std::string::npos;
          throw Error(missing ? ErrorCode::kNotFound : ErrorCode::kInvalidInput,
                      fmt::format("{} {} refused (HTTP {}): {}", service_, what, status,
                                  reason.empty() ? "no reason given" : reason));
        }
        reason = fmt::format("HTTP {} {}", status, reason);
      }
      if (attempt == kAttempts) {
        throw Error(ErrorCode::kUnavailable,
                    fmt::format("{} {} failed after {} attempts: {}", service_, what, kAttempts, reason));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
    }
  }

 private:
  static std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
    auto* reply = static_cast<std::string*>(user);
    const std::size_t bytes = size * count;
    if (reply->size() + bytes > kMaxReplyBytes) {
      return 0;  // aborts the transfer: CURLE_WRITE_ERROR
    }
    reply->append(data, bytes);
    return bytes;
  }

  CURLcode perform(const std::string& body, const std::vector<std::string>& headers, std::chrono::seconds timeout,
                   long& status, std::string& reply) {
    CURL* handle = acquire();
    struct Release {
      Transport* transport;
      CURL* handle;
      curl_slist* list = nullptr;
      ~Release() {
        curl_slist_free_all(list);
        transport->release(handle);
      }
    } release{this, handle};
    for (const auto& header : headers) {
      release.list = curl_slist_append(release.list, header.c_str());
    }
    if (!session_token_.empty()) {
      release.list = curl_slist_append(release.list, ("X-Amz-Security-Token: " + session_token_).c_str());
    }
    curl_easy_reset(handle);
    curl_easy_setopt(handle, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, release.list);
    curl_easy_setopt(handle, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    curl_easy_setopt(handle, CURLOPT_USERPWD, credentials_.c_str());
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &Transport::collect);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT, static_cast<long>(timeout.count()));
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    const CURLcode code = curl_easy_perform(handle);
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    return code;
  }

  CURL* acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        CURL* handle = idle_.back();
        idle_.pop_back();
        return handle;
      }
    }
    CURL* handle = curl_easy_init();
    if (handle == nullptr) {
      throw Error(ErrorCode::kInternal, "curl_easy_init failed");
    }
    return handle;
  }
  void release(CURL* handle) {
    std::lock_guard lock(mutex_);
    idle_.push_back(handle);
  }

  std::string url_;
  std::string sigv4_;
  std::string credentials_;
  std::string session_token_;
  std::string service_;
  std::mutex mutex_;
  std::vector<CURL*> idle_;
};

// --- SQS (JSON protocol) ---------------------------------------------------------

SqsClient::SqsClient(MessagingSettings settings)
    : settings_(std::move(settings)), transport_(std::make_unique<Transport>(settings_)) {}
SqsClient::~SqsClient() = default;

std::string SqsClient::call(std::string_view action, const std::string& request, std::chrono::seconds timeout) {
  return transport_->post(
      action, request, {fmt::format("X-Amz-Target: AmazonSQS.{}", action), "Content-Type: application/x-amz-json-1.0"},
      timeout);
}

namespace {

constexpr std::chrono::seconds kCallTimeout{30};

void check_entries(const std::vector<BatchEntry>& entries) {
  if (entries.empty() || entries.size() > kMaxBatchEntries) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("SQS batch of {} entries: 1 to {} are allowed", entries.size(), kMaxBatchEntries));
  }
}

}  // namespace

std::string SqsClient::create_queue(const std::string& name, const std::map<std::string, std::string>& attributes) {
  json request = {{"QueueName", name}};
  if (!attributes.empty()) {
    request["Attributes"] = attributes;
  }
  return parse_json_member(call("CreateQueue", request.dump(), kCallTimeout), "QueueUrl");
}

std::map<std::string, std::string> SqsClient::queue_attributes(const std::string& queue_url,
                                                               const std::vector<std::string>& names) {
  const json request = {{"QueueUrl", queue_url}, {"AttributeNames", names}};
  return parse_attributes_reply(call("GetQueueAttributes", request.dump(), kCallTimeout));
}

std::vector<QueueMessage> SqsClient::receive(const std::string& queue_url, int max_messages, int wait_seconds,
                                             std::optional<int> visibility_timeout) {
  if (max_messages < 1 || max_messages > 10 || wait_seconds < 0 || wait_seconds > 20) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("SQS receive: {} messages waiting {} s (allowed: 1-10 messages, 0-20 s)", max_messages,
                            wait_seconds));
  }
  json request = {
      {"QueueUrl", queue_url},     {"MaxNumberOfMessages", max_messages},    {"WaitTimeSeconds", wait_seconds},
      {"AttributeNames", {"All"}}, {"MessageSystemAttributeNames", {"All"}}, {"MessageAttributeNames", {"All"}}};
  if (visibility_timeout) {
    request["VisibilityTimeout"] = *visibility_timeout;
  }
  return parse_receive_reply(call("ReceiveMessage", request.dump(), kCallTimeout + std::chrono::seconds(wait_seconds)));
}

std::string SqsClient::send(const std::string& queue_url, const std::string& body,
                            const std::map<std::string, std::string>& string_attributes) {
  json request = {{"QueueUrl", queue_url}, {"MessageBody", body}};
  for (const auto& [name, value] : string_attributes) {
    request["MessageAttributes"][name] = {{"DataType", "String"}, {"StringValue", value}};
  }
  return parse_json_member(call("SendMessage", request.dump(), kCallTimeout), "MessageId");
}

std::vector<BatchEntryFailure> SqsClient::delete_batch(const std::string& queue_url,
                                                       const std::vector<BatchEntry>& entries) {
  check_entries(entries);
  json list = json::array();
  for (const auto& entry : entries) {
    list.push_back({{"Id", entry.id}, {"ReceiptHandle", entry.receipt_handle}});
  }
  const json request = {{"QueueUrl", queue_url}, {"Entries", list}};
  return parse_batch_reply(call("DeleteMessageBatch", request.dump(), kCallTimeout));
}

std::vector<BatchEntryFailure> SqsClient::change_visibility_batch(const std::string& queue_url,
                                                                  const std::vector<BatchEntry>& entries, int seconds) {
  check_entries(entries);
  json list = json::array();
  for (const auto& entry : entries) {
    list.push_back({{"Id", entry.id}, {"ReceiptHandle", entry.receipt_handle}, {"VisibilityTimeout", seconds}});
  }
  const json request = {{"QueueUrl", queue_url}, {"Entries", list}};
  return parse_batch_reply(call("ChangeMessageVisibilityBatch", request.dump(), kCallTimeout));
}

void SqsClient::change_visibility(const std::string& queue_url, const std::string& receipt_handle, int seconds) {
  const json request = {{"QueueUrl", queue_url}, {"ReceiptHandle", receipt_handle}, {"VisibilityTimeout", seconds}};
  (void)call("ChangeMessageVisibility", request.dump(), kCallTimeout);
}

// --- SNS (query protocol) --------------------------------------------------------

SnsClient::SnsClient(MessagingSettings settings)
    : settings_(std::move(settings)), transport_(std::make_unique<Transport>(settings_)) {}
SnsClient::~SnsClient() = default;

std::string SnsClient::call(const std::vector<std::pair<std::string, std::string>>& parameters) {
  std::string body = "Version=2010-03-31";
  for (const auto& [name, value] : parameters) {
    char* escaped = curl_easy_escape(nullptr, value.c_str(), static_cast<int>(value.size()));
    if (escaped == nullptr) {
      throw Error(ErrorCode::kInternal, "curl_easy_escape failed");
    }
    body += fmt::format("&{}={}", name, escaped);
    curl_free(escaped);
  }
  return transport_->post(parameters.front().second, body,
                          {"Content-Type: application/x-www-form-urlencoded; charset=utf-8"}, kCallTimeout);
}

std::string SnsClient::create_topic(const std::string& name) {
  return parse_xml_member(call({{"Action", "CreateTopic"}, {"Name", name}}), "TopicArn");
}

std::string SnsClient::subscribe(const std::string& topic_arn, const std::string& protocol, const std::string& endpoint,
                                 bool raw_delivery) {
  std::vector<std::pair<std::string, std::string>> parameters = {
      {"Action", "Subscribe"}, {"TopicArn", topic_arn}, {"Protocol", protocol}, {"Endpoint", endpoint}};
  if (raw_delivery) {
    parameters.emplace_back("Attributes.entry.1.key", "RawMessageDelivery");
    parameters.emplace_back("Attributes.entry.1.value", "true");
  }
  return parse_xml_member(call(parameters), "SubscriptionArn");
}

std::string SnsClient::publish(const std::string& topic_arn, const std::string& message, const std::string& subject,
                               const std::map<std::string, std::string>& string_attributes) {
  if (string_attributes.size() > 10) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("SNS publish: {} message attributes, at most 10", string_attributes.size()));
  }
  std::vector<std::pair<std::string, std::string>> parameters = {
      {"Action", "Publish"}, {"TopicArn", topic_arn}, {"Message", message}};
  if (!subject.empty()) {
    parameters.emplace_back("Subject", subject);
  }
  int entry = 0;
  for (const auto& [name, value] : string_attributes) {
    const std::string prefix = fmt::format("MessageAttributes.entry.{}.", ++entry);
    parameters.emplace_back(prefix + "Name", name);
    parameters.emplace_back(prefix + "Value.DataType", "String");
    parameters.emplace_back(prefix + "Value.StringValue", value);
  }
  return parse_xml_member(call(parameters), "MessageId");
}

}  // namespace tessera::storage::aws
