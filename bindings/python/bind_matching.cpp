#include <optional>

#include <fmt/format.h>
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "json_convert.hpp"
#include "tessera/error.hpp"
#include "tessera/matching.hpp"

namespace tessera::python {
namespace {

using nlohmann::json;

py::list matches_to_python(const std::vector<Match>& matches) {
  py::list result;
  for (const auto& match : matches) {
    result.append(from_json(match.to_json()));
  }
  return result;
}

// A run executor written in Python: an object with submit(request: dict) ->
// job id (str), status(job) -> {"state": "submitted" | "running" |
// "succeeded" | "failed" | "timed_out" | "cancelled", "exit_code"?, "log"?
// (output since the last call), "error"?, "seconds"?} and cancel(job).
class PythonExecutor final : public RunExecutor {
 public:
  explicit PythonExecutor(py::object executor) : executor_(std::move(executor)) {
    for (const char* method : {"submit", "status", "cancel"}) {
      if (!py::hasattr(executor_, method)) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("runner executor: must have submit, status and cancel methods (no '{}')", method));
      }
    }
  }
  ~PythonExecutor() override {
    py::gil_scoped_acquire gil;
    executor_ = py::object();
  }

  std::string submit(const RunRequest& request) override {
    py::gil_scoped_acquire gil;
    const json argument = {
        {"run", request.run_id},        {"event_id", request.event_id},       {"model", request.model},
        {"aoi", request.aoi},           {"collection", request.collection},   {"item", request.item},
        {"command", request.command},   {"timeout", request.timeout_seconds}, {"environment", request.environment},
        {"work_dir", request.work_dir}, {"executor", request.executor}};
    const py::object job = executor_.attr("submit")(from_json(argument));
    if (!py::isinstance<py::str>(job)) {
      throw Error(ErrorCode::kInvalidInput, "runner executor: submit must return the job id as a str");
    }
    return job.cast<std::string>();
  }

  RunStatus status(const std::string& job) override {
    py::gil_scoped_acquire gil;
    const json answer = to_json(executor_.attr("status")(job));
    if (!answer.is_object() || !answer.contains("state") || !answer["state"].is_string()) {
      throw Error(ErrorCode::kInvalidInput,
                  "runner executor: status must return a dict {state, exit_code?, log?, ...}");
    }
    RunStatus status;
    status.state = run_state_from_name(answer["state"].get<std::string>());
    status.exit_code = answer.value("exit_code", -1);
    status.log = answer.value("log", "");
    status.error = answer.value("error", "");
    status.seconds = answer.value("seconds", 0.0);
    return status;
  }

  void cancel(const std::string& job) override {
    py::gil_scoped_acquire gil;
    executor_.attr("cancel")(job);
  }

 private:
  py::object executor_;
};

}  // namespace

void bind_matching(py::module_& m) {
  py::class_<Matcher>(m, "Matcher",
                      "Models, their areas of interest and the matching of new STAC items against them, stored in "
                      "the catalog's database (see docs/matching.md).")
      .def(py::init([](Catalog& catalog) {
             py::gil_scoped_release release;
             return std::make_unique<Matcher>(catalog);
           }),
           py::arg("catalog"), py::keep_alive<1, 2>())
      .def(
          "add_model", [](Matcher& self, const py::dict& model) { return self.add_model(to_json(model)); },
          py::arg("model"),
          "Register a model {id?, name, description?, command: [program, args...], runner?: {timeout, "
          "concurrency}}. Returns its id.")
      .def(
          "update_model", [](Matcher& self, const py::dict& model) { self.update_model(to_json(model)); },
          py::arg("model"), "Replace a model (by id); emits a model_updated event.")
      .def(
          "get_model", [](const Matcher& self, const std::string& id) { return from_json(self.get_model(id)); },
          py::arg("model_id"))
      .def("models", [](const Matcher& self) { return from_json(self.models()); })
      .def(
          "add_aoi",
          [](Matcher& self, const py::dict& aoi) {
            const json parsed = to_json(aoi);
            py::gil_scoped_release release;
            return self.add_aoi(parsed);
          },
          py::arg("aoi"),
          "Register an AOI {id?, model, geometry, crs?, resolution, wavelengths?, collections?, datetime?, "
          "max_cloud_cover?, filter?}. Returns its id.")
      .def(
          "remove_aoi", [](Matcher& self, const std::string& id) { self.remove_aoi(id); }, py::arg("aoi_id"))
      .def(
          "get_aoi", [](const Matcher& self, const std::string& id) { return from_json(self.get_aoi(id)); },
          py::arg("aoi_id"))
      .def(
          "aois",
          [](const Matcher& self, const std::optional<std::string>& model) {
            return from_json(self.aois(model.value_or("")));
          },
          py::arg("model_id") = py::none())
      .def(
          "reload",
          [](Matcher& self) {
            py::gil_scoped_release release;
            self.reload();
          },
          "Rebuild the index from the stored AOIs (picks up other processes' changes).")
      .def(
          "match",
          [](const Matcher& self, const py::dict& item) {
            const json parsed = to_json(item);
            std::vector<Match> matches;
            {
              py::gil_scoped_release release;
              matches = self.match(parsed);
            }
            return matches_to_python(matches);
          },
          py::arg("item"), "The AOIs a STAC item meets: [{'model', 'aoi'}], ordered by model then AOI.")
      .def(
          "match_batch",
          [](const Matcher& self, const py::iterable& items) {
            std::vector<json> parsed;
            for (const auto& item : items) {
              parsed.push_back(to_json(item));
            }
            std::vector<std::vector<Match>> results;
            {
              py::gil_scoped_release release;
              results = self.match_batch(parsed);
            }
            py::list out;
            for (const auto& matches : results) {
              out.append(matches_to_python(matches));
            }
            return out;
          },
          py::arg("items"), "match() for many items: one list of matches per item.")
      .def(
          "load",
          [](const Matcher& self, const py::object& items, const std::string& mode, std::size_t batch_size) {
            LoadOptions options;
            options.mode = load_mode_from_name(mode);
            options.batch_size = batch_size;
            options.outbox = self.outbox_hook();
            return load_items(self.catalog(), items, options);
          },
          py::arg("items_or_path"), py::arg("mode") = "insert", py::arg("batch_size") = 1000,
          "Catalog.load with matching: each match writes a run_requested event in the item's transaction.")
      .def(
          "events",
          [](Matcher& self, bool claim, std::size_t limit, const std::optional<std::string>& kind,
             const std::optional<std::string>& model, double lease) {
            EventQuery query;
            query.claim = claim;
            query.limit = limit;
            query.kind = kind.value_or("");
            query.model = model.value_or("");
            query.lease_seconds = lease;
            std::vector<MatchEvent> events;
            {
              py::gil_scoped_release release;
              events = self.events(query);
            }
            py::list out;
            for (const auto& event : events) {
              out.append(from_json(event.to_json()));
            }
            return out;
          },
          py::arg("claim") = false, py::arg("limit") = 100, py::arg("kind") = py::none(), py::arg("model") = py::none(),
          py::arg("lease") = 300.0,
          "Unacknowledged events, oldest first. claim=True leases them for `lease` seconds; unacknowledged "
          "claims are delivered again after it.")
      .def(
          "ack", [](Matcher& self, std::int64_t event_id) { self.ack(event_id); }, py::arg("event_id"))
      .def(
          "emit",
          [](Matcher& self, const std::string& kind, const std::string& model, const py::object& payload) {
            return self.emit(kind, model, payload.is_none() ? json::object() : to_json(payload));
          },
          py::arg("kind"), py::arg("model_id"), py::arg("payload") = py::none())
      .def(
          "add_prediction",
          [](Matcher& self, const std::string& model, const std::string& aoi, const py::dict& label_item) {
            const json parsed = to_json(label_item);
            py::gil_scoped_release release;
            return self.add_prediction(model, aoi, parsed);
          },
          py::arg("model_id"), py::arg("aoi_id"), py::arg("label_item"),
          "Store a STAC label item as a prediction of the model for the AOI. Returns the prediction id.")
      .def(
          "summary",
          [](const Matcher& self, const std::string& model, const std::optional<std::string>& start,
             const std::optional<std::string>& end) {
            return from_json(self.summary(model, start.value_or(""), end.value_or("")));
          },
          py::arg("model_id"), py::arg("start") = py::none(), py::arg("end") = py::none(),
          "Counts, latest prediction and class counts per model and AOI, within [start, end] when given.")
      .def(
          "get_run",
          [](const Matcher& self, const std::string& run) {
            json found;
            {
              py::gil_scoped_release release;
              found = self.get_run(run);
            }
            return from_json(found);
          },
          py::arg("run_id"))
      .def(
          "runs",
          [](const Matcher& self, const std::optional<std::string>& model, const std::optional<std::string>& aoi,
             const std::optional<std::string>& state, std::size_t limit, const std::optional<std::string>& token) {
            RunQuery query;
            query.model = model.value_or("");
            query.aoi = aoi.value_or("");
            query.state = state.value_or("");
            query.limit = limit;
            query.token = token.value_or("");
            json found;
            {
              py::gil_scoped_release release;
              found = self.runs(query);
            }
            return from_json(found);
          },
          py::arg("model") = py::none(), py::arg("aoi") = py::none(), py::arg("state") = py::none(),
          py::arg("limit") = 100, py::arg("token") = py::none(),
          "Runs, newest first: {'runs': [...], 'next': token or None}.")
      .def(
          "cancel_run",
          [](Matcher& self, const std::string& run) {
            json cancelled;
            {
              py::gil_scoped_release release;
              cancelled = self.cancel_run(run);
            }
            return from_json(cancelled);
          },
          py::arg("run_id"), "Cancel a run that has not ended (Conflict when it has).")
      .def(
          "transition_run",
          [](Matcher& self, const std::string& run, const std::string& state, const py::object& changes) {
            const json parsed = changes.is_none() ? json::object() : to_json(changes);
            std::optional<json> moved;
            {
              py::gil_scoped_release release;
              moved = self.transition_run(run, run_state_from_name(state), parsed);
            }
            return moved ? from_json(*moved) : py::object(py::none());
          },
          py::arg("run_id"), py::arg("state"), py::arg("changes") = py::none(),
          "Move a run forward to `state` (emits its event); None when it has ended or `state` is behind it.")
      .def(
          "run_logs",
          [](const Matcher& self, const std::string& run, std::size_t limit, const std::optional<std::string>& token) {
            json page;
            {
              py::gil_scoped_release release;
              page = self.run_logs(run, limit, token.value_or(""));
            }
            return from_json(page);
          },
          py::arg("run_id"), py::arg("limit") = 100, py::arg("token") = py::none(),
          "A page of a run's log: {'entries': [{'seq', 'time', 'text'}], 'nextToken': str or None}.")
      .def(
          "add_subscription",
          [](Matcher& self, const py::dict& subscription) {
            const json parsed = to_json(subscription);
            json stored;
            {
              py::gil_scoped_release release;
              stored = self.add_subscription(parsed);
            }
            return from_json(stored);
          },
          py::arg("subscription"),
          "Subscribe {id?, model? (absent: every model), visibility_timeout? (s, 300), from_start?}: a cursor and "
          "acknowledgements of its own.")
      .def("subscriptions", [](const Matcher& self) { return from_json(self.subscriptions()); })
      .def(
          "get_subscription",
          [](const Matcher& self, const std::string& id) { return from_json(self.get_subscription(id)); },
          py::arg("subscription_id"))
      .def(
          "delete_subscription", [](Matcher& self, const std::string& id) { self.delete_subscription(id); },
          py::arg("subscription_id"))
      .def(
          "receive",
          [](Matcher& self, const std::string& id, std::size_t limit) {
            std::vector<MatchEvent> events;
            {
              py::gil_scoped_release release;
              events = self.receive(id, limit);
            }
            py::list out;
            for (const auto& event : events) {
              out.append(from_json(event.to_json()));
            }
            return out;
          },
          py::arg("subscription_id"), py::arg("limit") = 100,
          "The subscriber's next events, leased for its visibility timeout (delivered again unless acknowledged).")
      .def(
          "acknowledge",
          [](Matcher& self, const std::string& id, std::int64_t event_id) { self.acknowledge(id, event_id); },
          py::arg("subscription_id"), py::arg("event_id"))
      .def(
          "replay", [](Matcher& self, const std::string& id, std::int64_t from_event) { self.replay(id, from_event); },
          py::arg("subscription_id"), py::arg("from_event_id"),
          "Deliver every event from this id on again (a push subscription's dead letters from it included).")
      .def(
          "dead_letters",
          [](const Matcher& self, const std::string& id, std::size_t limit, const std::optional<std::string>& token) {
            json page;
            {
              py::gil_scoped_release release;
              page = self.dead_letters(id, limit, token.value_or(""));
            }
            return from_json(page);
          },
          py::arg("subscription_id"), py::arg("limit") = 100, py::arg("token") = py::none(),
          "A push subscription's dead letters: {'dead_letters': [{'event', 'attempts', 'error', 'failed'}], "
          "'next': str or None}.")
      .def(
          "push_pending",
          [](Matcher& self, const std::optional<py::dict>& options) {
            const PushOptions parsed = PushOptions::from_json(options ? to_json(*options) : json::object());
            json counts;
            {
              py::gil_scoped_release release;
              counts = EventPusher(self, parsed).push_pending();
            }
            return from_json(counts);
          },
          py::arg("options") = py::none(),
          "One pass over the push subscriptions (webhooks, SNS topics): {'delivered', 'retried', 'dead_lettered'}. "
          "options: {timeout, batch, poll, allow_loopback, sns: {endpoint, region, access_key_id, "
          "secret_access_key, session_token}}.")
      .def(
          "prune",
          [](Matcher& self, double older_than_days) {
            const auto age = std::chrono::seconds(static_cast<std::int64_t>(older_than_days * 86400));
            json counts;
            {
              py::gil_scoped_release release;
              counts = self.prune(age);
            }
            return from_json(counts);
          },
          py::arg("older_than_days") = 30.0,
          "Retention: delete acknowledged events, ended runs and their logs older than the age; nothing pending. "
          "Returns the counts {'events', 'runs', 'run_logs'}.");
  m.def("run_state_names", &run_state_names, "The run states, in lifecycle order.");

  py::class_<RunExecutor, std::shared_ptr<RunExecutor>>(m, "RunExecutor",
                                                        "Where runs execute (submit, status, cancel).");
  py::class_<CommandExecutor, RunExecutor, std::shared_ptr<CommandExecutor>>(
      m, "CommandExecutor",
      "A batch system driven by host-supplied submit/status/cancel commands (argument lists with placeholders "
      "{run}, {model}, {item}, {item_argument}, {command}, {command_json}, {environment_json}, "
      "{executor.NAME}, {job}; see docs/matching.md).")
      .def(py::init([](const std::vector<std::string>& submit, const std::vector<std::string>& status,
                       const std::vector<std::string>& cancel, double command_timeout) {
             CommandExecutorOptions options;
             options.submit = submit;
             options.status = status;
             options.cancel = cancel;
             options.command_timeout_seconds = command_timeout;
             return std::make_shared<CommandExecutor>(options);
           }),
           py::arg("submit"), py::arg("status"), py::arg("cancel"), py::arg("command_timeout") = 60.0);

  // Registered before Runner, whose constructor takes it (Service.runner_callback() makes one).
  py::class_<RunnerCallback>(m, "RunnerCallback",
                             "A run callback for Runner(callback=...), made by Service.runner_callback().");

  py::class_<Runner>(m, "Runner",
                     "Executes run requests: the model's command with the item's href (or JSON path) appended, "
                     "submitted to the executor (local processes by default, or an object with submit/status/"
                     "cancel), at most `concurrency` at once; each run's transitions are recorded as events.")
      .def(py::init([](Matcher& matcher, std::size_t concurrency, double lease, std::size_t max_runs,
                       const std::optional<std::string>& work_dir, const py::object& executor, double poll,
                       const std::optional<RunnerCallback>& callback) {
             RunnerOptions options;
             options.concurrency = concurrency;
             options.lease_seconds = lease;
             options.max_runs = max_runs;
             options.work_dir = work_dir.value_or("");
             options.poll_seconds = poll;
             if (callback) {
               options.callback = callback->callback;
             }
             std::shared_ptr<RunExecutor> chosen;
             if (py::isinstance<CommandExecutor>(executor)) {
               chosen = executor.cast<std::shared_ptr<CommandExecutor>>();
             } else if (!executor.is_none()) {
               chosen = std::make_shared<PythonExecutor>(executor);
             }
             return std::make_unique<Runner>(matcher, options, std::move(chosen));
           }),
           py::arg("matcher"), py::arg("concurrency") = 4, py::arg("lease") = 0.0, py::arg("max_runs") = 0,
           py::arg("work_dir") = py::none(), py::arg("executor") = py::none(), py::arg("poll") = 0.05,
           py::arg("callback") = py::none(), py::keep_alive<1, 2>())
      .def(
          "run_pending",
          [](Runner& self) {
            json records;
            {
              py::gil_scoped_release release;
              records = self.run_pending();
            }
            return from_json(records);
          },
          "Run every pending request until each run has ended; returns the runs as they ended (with 'kind', the "
          "final event, and 'log').");
}

}  // namespace tessera::python
