using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Sdk;

namespace Platform.BuildingBlocks.Tests.Dapr;

/// <summary>A request as the fake received it: path segments unescaped one by one, query parameters, headers, body.</summary>
public sealed record SidecarRequest(
    string Method, string RawTarget, IReadOnlyList<string> Segments, IReadOnlyDictionary<string, string> Query,
    IReadOnlyDictionary<string, string> Headers, byte[] Body, string? ContentType)
{
    public string Path => "/" + string.Join('/', Segments);
    public string BodyText => Encoding.UTF8.GetString(Body);
    public JsonNode? Json => JsonNode.Parse(Body);
    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : null;
}

/// <summary>An answer of the fake. <see cref="Error"/> builds Dapr's error body (§1: <c>{"errorCode","message"}</c>).</summary>
public sealed record SidecarResponse(int Status, string? Body = null, string ContentType = "application/json", IReadOnlyDictionary<string, string>? Headers = null)
{
    public static SidecarResponse Error(int status, string errorCode) =>
        new(status, JsonSerializer.Serialize(new { errorCode, message = "fake sidecar: " + errorCode }));

    public static readonly SidecarResponse NoContent = new(204);
}

/// <summary>A component as §1.4's metadata lists it.</summary>
public sealed record FakeComponent(string Name, string Type, params string[] Capabilities);

/// <summary>What the app answered to a delivery, read per §3.6.</summary>
public enum DeliveryVerdict { Success, Retry, Drop, DroppedNotFound, RetryableError }

public sealed record Delivery(string Topic, string Route, int HttpStatus, string Body, DeliveryVerdict Verdict);

/// <summary>A message the fake accepted for a topic, as the envelope it built (§3.1).</summary>
public sealed record Published(string PubSub, string Topic, JsonObject Envelope, SidecarRequest Request);

/// <summary>
/// A fake daprd on real HTTP (Kestrel on 127.0.0.1, a free port). It accepts only the requests
/// <c>dapr-sidecar-api.md</c> documents and answers with the documented status codes and bodies; every rule below
/// cites its section. Anything else is recorded in <see cref="Violations"/> (and answered 404, as daprd answers an
/// unknown route), so a test that lets one through fails in <see cref="AssertNoViolations"/>. State lives in memory
/// with numeric ETags drawn from one counter, first-write-wins per §2.2.
/// </summary>
public sealed class FakeSidecar : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly object _lock = new();
    private readonly Dictionary<(string Store, string Key), (byte[] Value, long ETag)> _state = new();
    private readonly Dictionary<string, string> _subscriptionRoutes = new(StringComparer.Ordinal);
    private readonly HttpClient _appClient = new(new SocketsHttpHandler { UseProxy = false });
    private int _notReadyLeft;
    private long _etag = 100;

    public FakeSidecar()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.Run(HandleAsync);
        _app.StartAsync().GetAwaiter().GetResult();
        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        Endpoint = new Uri(address);
    }

    public Uri Endpoint { get; }
    public int Port => Endpoint.Port;

    /// <summary>§1.2: when set, every call but the health endpoints must carry it in <c>dapr-api-token</c>.</summary>
    public string? ApiToken { get; set; }

    /// <summary>This sidecar's app id (the envelope's <c>source</c>, §3.1; <c>id</c> in §1.4).</summary>
    public string AppId { get; set; } = "marketdata";

    /// <summary>§1.4 <c>components[]</c>. Defaults: a Redis-like state store, a pub/sub and a secret store.</summary>
    public List<FakeComponent> Components { get; } =
    [
        new("statestore", "state.redis", "ETAG", "TRANSACTIONAL", "TTL", "ACTOR"),
        new("pubsub", "pubsub.redis"),
        new("secretstore", "secretstores.local.file"),
    ];

    /// <summary>§3.4 <c>publishingScopes</c>/<c>allowedTopics</c>: when set, other topics are refused with 403.</summary>
    public HashSet<string>? PublishableTopics { get; set; }

    /// <summary>Secrets per store for §6.5 reads (the store must also be a loaded component).</summary>
    public Dictionary<string, Dictionary<string, string>> Secrets { get; } = new(StringComparer.Ordinal);

    /// <summary>§1.3: how many outbound health probes answer 500 before the sidecar is ready.</summary>
    public int NotReadyProbes { set => _notReadyLeft = value; }

    /// <summary>Replaces the answer to a request once it has been validated (to inject documented failures or garbage).</summary>
    public Func<SidecarRequest, SidecarResponse?>? Override { get; set; }

    /// <summary>Holds the answer back (to provoke the adapter's timeout).</summary>
    public Func<SidecarRequest, TimeSpan?>? Delay { get; set; }

    /// <summary>The app this sidecar delivers to (§3.5), and the token it sends there (§1.2 APP_API_TOKEN).</summary>
    public Uri? AppEndpoint { get; set; }
    public string? AppApiToken { get; set; }

    public ConcurrentQueue<SidecarRequest> Requests { get; } = new();
    public ConcurrentQueue<string> Violations { get; } = new();
    public ConcurrentQueue<Published> PublishedMessages { get; } = new();
    public Channel<Delivery> Deliveries { get; } = Channel.CreateUnbounded<Delivery>();

    public IReadOnlyList<SidecarRequest> RequestsTo(string pathPrefix) => Requests.Where(r => r.Path.StartsWith(pathPrefix, StringComparison.Ordinal)).ToList();

    public void AssertNoViolations()
    {
        if (!Violations.IsEmpty)
            throw new XunitException("The fake sidecar received undocumented requests:\n  " + string.Join("\n  ", Violations));
    }

    /// <summary>Seeds a stored value (JSON) and returns its ETag.</summary>
    public string Seed(string store, string key, string json)
    {
        lock (_lock)
        {
            var etag = ++_etag;
            _state[(store, key)] = (Encoding.UTF8.GetBytes(json), etag);
            return etag.ToString(CultureInfo.InvariantCulture);
        }
    }

    public string? Stored(string store, string key)
    {
        lock (_lock) return _state.TryGetValue((store, key), out var v) ? Encoding.UTF8.GetString(v.Value) : null;
    }

    /// <summary>§3.3: asks the app for its subscriptions once, as daprd does after the app port opens.</summary>
    public async Task<JsonArray> LoadSubscriptionsAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(AppEndpoint!, "/dapr/subscribe"));
        if (AppApiToken is not null) request.Headers.Add("dapr-api-token", AppApiToken);
        using var response = await _appClient.SendAsync(request);
        if (response.StatusCode == HttpStatusCode.NotFound) return [];
        response.EnsureSuccessStatusCode();
        var items = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();
        lock (_lock)
        {
            foreach (var item in items)
            {
                var route = item!["route"]!.GetValue<string>();
                _subscriptionRoutes[item["topic"]!.GetValue<string>()] = route.StartsWith('/') ? route : "/" + route;
            }
        }
        return items;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _appClient.Dispose();
    }

    private sealed class RequestViolations { public int Count; }

    private static readonly AsyncLocal<RequestViolations?> Current = new();

    private void Violation(SidecarRequest r, string rule)
    {
        Violations.Enqueue($"{r.Method} {r.RawTarget}: {rule}");
        if (Current.Value is { } current) current.Count++;
    }

    /// <summary>True when the request being handled broke a rule: it must not change state.</summary>
    private static bool Violated => Current.Value is { Count: > 0 };

    private async Task HandleAsync(HttpContext context)
    {
        var request = await ReadAsync(context);
        Requests.Enqueue(request);
        Current.Value = new RequestViolations();
        var response = Handle(request);
        // An undocumented request never succeeds, so the adapter under test cannot mistake it for a good one.
        if (Violated && response.Status is >= 200 and < 300) response = SidecarResponse.Error(400, "ERR_FAKE_UNDOCUMENTED_REQUEST");
        if (Override?.Invoke(request) is { } replaced) response = replaced;
        if (Delay?.Invoke(request) is { } delay)
        {
            try
            {
                await Task.Delay(delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        context.Response.StatusCode = response.Status;
        foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>()) context.Response.Headers[name] = value;
        if (response.Body is not null)
        {
            context.Response.ContentType = response.ContentType;
            await context.Response.WriteAsync(response.Body);
        }
    }

    private static async Task<SidecarRequest> ReadAsync(HttpContext context)
    {
        var raw = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        var q = raw.IndexOf('?');
        var pathPart = q < 0 ? raw : raw[..q];
        var segments = pathPart.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToList();
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        if (q >= 0)
        {
            foreach (var pair in raw[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=');
                var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
                query[name] = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
            }
        }
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        return new SidecarRequest(context.Request.Method, raw, segments, query, headers, body.ToArray(), context.Request.ContentType);
    }

    private SidecarResponse Handle(SidecarRequest r)
    {
        var s = r.Segments;
        var isHealth = s is ["v1.0", "healthz"] or ["v1.0", "healthz", "outbound"];
        // §1.2: with DAPR_API_TOKEN set, a missing or wrong token is 401 "invalid api token" (plain text); health is exempt.
        if (ApiToken is not null && !isHealth && r.Header("dapr-api-token") != ApiToken)
            return new SidecarResponse(401, "invalid api token", "text/plain");

        return (r.Method, s) switch
        {
            // §1.3: 204 when ready; /v1.0/healthz waits for the app channel, which an app must not wait on at start-up.
            ("GET", ["v1.0", "healthz"]) => Query(r, []) ?? SidecarResponse.NoContent,
            ("GET", ["v1.0", "healthz", "outbound"]) => Query(r, []) ?? OutboundHealth(),
            // §1.4
            ("GET", ["v1.0", "metadata"]) => Query(r, []) ?? Metadata(),
            // §2.4 (before §2.3/§2.5 so that a key literally named "bulk" or "transaction" is only reachable by GET/DELETE)
            ("POST" or "PUT", ["v1.0", "state", var store, "bulk"]) => Query(r, [], metadata: true) ?? BulkGet(r, store),
            // §2.6
            ("POST" or "PUT", ["v1.0", "state", var store, "transaction"]) => Query(r, [], metadata: true) ?? Transaction(r, store),
            // §2.1
            ("POST" or "PUT", ["v1.0", "state", var store]) => Query(r, [], metadata: true) ?? Save(r, store),
            // §2.3
            ("GET", ["v1.0", "state", var store, var key]) => Query(r, ["consistency"], metadata: true) ?? Get(store, key),
            // §2.5
            ("DELETE", ["v1.0", "state", var store, var key]) => Query(r, ["concurrency", "consistency"], metadata: true) ?? Delete(r, store, key),
            // §3.1 (the topic may contain '/')
            ("POST" or "PUT", ["v1.0", "publish", var pubsub, _, ..]) => Query(r, [], metadata: true) ?? Publish(r, pubsub, string.Join('/', s.Skip(3))),
            // §6.5 (GET /v1.0/secrets/{store}/{name}; codes per docs.dapr.io secrets API: 200 map, 204 not found, 400 no such store)
            ("GET", ["v1.0", "secrets", var store, var key]) => Query(r, [], metadata: true) ?? Secret(store, key),
            _ => Undocumented(r, "no such route in the reference"),
        };
    }

    private SidecarResponse Undocumented(SidecarRequest r, string rule)
    {
        Violation(r, rule);
        return SidecarResponse.Error(404, "ERR_FAKE_UNDOCUMENTED_REQUEST");
    }

    /// <summary>Only the query parameters the section names (plus <c>metadata.*</c> where it allows them).</summary>
    private SidecarResponse? Query(SidecarRequest r, string[] allowed, bool metadata = false)
    {
        foreach (var name in r.Query.Keys)
        {
            if (allowed.Contains(name) || (metadata && name.StartsWith("metadata.", StringComparison.Ordinal) && name.Length > 9)) continue;
            return Undocumented(r, $"query parameter '{name}' is not documented for this call");
        }
        // §2.3/§2.5 enumerations
        if (r.Query.TryGetValue("consistency", out var c) && c is not ("strong" or "eventual"))
            return Undocumented(r, $"consistency '{c}' is not strong|eventual (§2.3)");
        if (r.Query.TryGetValue("concurrency", out var k) && k is not ("first-write" or "last-write"))
            return Undocumented(r, $"concurrency '{k}' is not first-write|last-write (§2.5)");
        return null;
    }

    private SidecarResponse OutboundHealth()
    {
        // §1.3: 500 ERR_HEALTH_NOT_READY until components are loaded.
        if (Interlocked.Decrement(ref _notReadyLeft) >= 0) return SidecarResponse.Error(500, "ERR_HEALTH_NOT_READY");
        return SidecarResponse.NoContent;
    }

    private SidecarResponse Metadata()
    {
        // §1.4 field names.
        var body = new JsonObject
        {
            ["id"] = AppId,
            ["runtimeVersion"] = "1.15.0",
            ["enabledFeatures"] = new JsonArray(),
            ["actors"] = new JsonArray(),
            ["components"] = new JsonArray(Components.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name, ["type"] = c.Type, ["version"] = "v1",
                ["capabilities"] = new JsonArray(c.Capabilities.Select(x => (JsonNode)JsonValue.Create(x)).ToArray()),
            }).ToArray()),
            ["httpEndpoints"] = new JsonArray(),
            ["subscriptions"] = new JsonArray(),
            ["extended"] = new JsonObject(),
        };
        return new SidecarResponse(200, body.ToJsonString());
    }

    private FakeComponent? StateComponent(string store) =>
        Components.FirstOrDefault(c => c.Name == store && c.Type.StartsWith("state.", StringComparison.Ordinal));

    /// <summary>Parses a JSON body; a body that is not JSON (or not JSON-typed) is an undocumented request (answered 400 as daprd would).</summary>
    private JsonNode? JsonBody(SidecarRequest r, string section, out SidecarResponse? failure)
    {
        failure = null;
        if (!IsJsonContentType(r.ContentType))
            Violation(r, $"Content-Type '{r.ContentType}' is not JSON ({section})");
        try
        {
            return JsonNode.Parse(r.Body) ?? throw new JsonException("null body");
        }
        catch (JsonException ex)
        {
            Violation(r, $"body is not JSON ({section}): {ex.Message}");
            failure = SidecarResponse.Error(400, "ERR_MALFORMED_REQUEST");
            return null;
        }
    }

    private static bool IsJsonContentType(string? contentType) =>
        contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var m)
        && (m.MediaType == "application/json" || m.MediaType?.EndsWith("+json", StringComparison.Ordinal) == true);

    /// <summary>An object whose properties are all in <paramref name="allowed"/>; records a violation otherwise.</summary>
    private bool Shape(SidecarRequest r, JsonNode? node, string what, string section, params string[] allowed)
    {
        if (node is not JsonObject o)
        {
            Violation(r, $"{what} is not a JSON object ({section})");
            return false;
        }
        foreach (var (name, _) in o)
        {
            if (!allowed.Contains(name))
            {
                Violation(r, $"{what} has undocumented property '{name}' ({section})");
                return false;
            }
        }
        return true;
    }

    /// <summary>§2.1 item / §2.6 request: key, value, etag, metadata, options{concurrency, consistency}.</summary>
    private bool StateItem(SidecarRequest r, JsonNode? item, string section, bool valueAllowed, bool valueRequired)
    {
        string[] allowed = valueAllowed ? ["key", "value", "etag", "metadata", "options"] : ["key", "etag", "metadata", "options"];
        if (!Shape(r, item, "a state item", section, allowed)) return false;
        var o = item!.AsObject();
        if (o["key"] is not JsonValue key || key.GetValueKind() != JsonValueKind.String)
        {
            // §2.1: a missing key is 400 ERR_MALFORMED_REQUEST; a key that is not a string is not a documented request.
            if (o["key"] is not null) Violation(r, $"key is not a string ({section})");
            return o["key"] is null;
        }
        if (valueRequired && !o.ContainsKey("value")) Violation(r, $"an upsert without a value ({section})");
        if (o["etag"] is { } etag && etag.GetValueKind() != JsonValueKind.String) Violation(r, $"etag is not a string ({section})");
        if (o["metadata"] is { } md && (md is not JsonObject mo || mo.Any(p => p.Value?.GetValueKind() != JsonValueKind.String)))
            Violation(r, $"metadata is not a map of strings ({section})");
        if (o["options"] is { } options && Shape(r, options, "options", section, "concurrency", "consistency"))
        {
            if (options["concurrency"] is { } cc && cc.GetValue<string>() is not ("first-write" or "last-write"))
                Violation(r, $"options.concurrency '{cc}' is not first-write|last-write ({section})");
            if (options["consistency"] is { } cs && cs.GetValue<string>() is not ("eventual" or "strong"))
                Violation(r, $"options.consistency '{cs}' is not eventual|strong ({section})");
        }
        return true;
    }

    // §2.1: key must be non-empty and must not contain "||".
    private static bool BadKey(string? key) => string.IsNullOrEmpty(key) || key.Contains("||", StringComparison.Ordinal);

    // §2.2: ETags of this store are numeric; a non-numeric one is an invalid ETag (400).
    private static bool ValidETag(string etag) => long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out _);

    private bool ETagMatches((string, string) id, string etag) =>
        _state.TryGetValue(id, out var current) && current.ETag.ToString(CultureInfo.InvariantCulture) == etag;

    private SidecarResponse Save(SidecarRequest r, string store)
    {
        var body = JsonBody(r, "§2.1", out var failure);
        if (failure is not null) return failure;
        // §2.1: the body is a JSON array of items.
        if (body is not JsonArray items) return Undocumented(r, "the save body is not a JSON array (§2.1)");
        foreach (var item in items)
            if (!StateItem(r, item, "§2.1", valueAllowed: true, valueRequired: true)) return SidecarResponse.Error(400, "ERR_MALFORMED_REQUEST");
        if (Violated) return SidecarResponse.Error(400, "ERR_MALFORMED_REQUEST");
        // §2.1: 400 ERR_STATE_STORE_NOT_FOUND for an unknown store.
        if (StateComponent(store) is not { } component) return SidecarResponse.Error(400, "ERR_STATE_STORE_NOT_FOUND");
        var etagSupported = component.Capabilities.Contains("ETAG");
        lock (_lock)
        {
            foreach (var item in items)
            {
                var key = item!["key"]?.GetValue<string>();
                // §2.1: missing or bad key → 400 ERR_MALFORMED_REQUEST.
                if (BadKey(key)) return SidecarResponse.Error(400, "ERR_MALFORMED_REQUEST");
                if (etagSupported && item["etag"]?.GetValue<string>() is { } etag)
                {
                    // §2.2: an invalid ETag is 400; a mismatch (absent key included) is 409 ERR_STATE_SAVE, never 412.
                    if (!ValidETag(etag)) return SidecarResponse.Error(400, "ERR_STATE_SAVE");
                    if (!ETagMatches((store, key!), etag)) return SidecarResponse.Error(409, "ERR_STATE_SAVE");
                }
            }
            foreach (var item in items)
                _state[(store, item!["key"]!.GetValue<string>())] = (Encoding.UTF8.GetBytes(item["value"]?.ToJsonString() ?? "null"), ++_etag);
        }
        // §2.1: 204 saved (also for an empty array).
        return SidecarResponse.NoContent;
    }

    private SidecarResponse Get(string store, string key)
    {
        // §2.3: 400 store missing / bad key.
        if (StateComponent(store) is null) return SidecarResponse.Error(400, "ERR_STATE_STORE_NOT_FOUND");
        if (BadKey(key)) return SidecarResponse.Error(400, "ERR_MALFORMED_REQUEST");
        lock (_lock)
        {
            // §2.3: 204 with an empty body when absent; 200 + ETag header with the stored JSON.
            if (!_state.TryGetValue((store, key), out var v)) return SidecarResponse.NoContent;
            return new SidecarResponse(200, Encoding.UTF8.GetString(v.Value),
                Headers: new Dictionary<string, string> { ["ETag"] = v.ETag.ToString(CultureInfo.InvariantCulture) });
        }
    }

    private SidecarResponse BulkGet(SidecarRequest r, string store)
    {
        var body = JsonBody(r, "§2.4", out var failure);
        if (failure is not null) return failure;
        // §2.4: { keys: [..], parallelism, metadata }.
        if (!Shape(r, body, "the bulk request", "§2.4", "keys", "parallelism", "metadata")) return SidecarResponse.Error(400, "ERR_MALFORMED_REQUEST");
        if (body!["keys"] is not JsonArray keys || keys.Any(k => k?.GetValueKind() != JsonValueKind.String))
            return Undocumented(r, "keys is not an array of strings (§2.4)");
        if (body["parallelism"] is { } p && p.GetValueKind() != JsonValueKind.Number) Violation(r, "parallelism is not a number (§2.4)");
        if (StateComponent(store) is null) return SidecarResponse.Error(400, "ERR_STATE_STORE_NOT_FOUND");
        var result = new JsonArray();
        lock (_lock)
        {
            foreach (var key in keys.Select(k => k!.GetValue<string>()))
            {
                // §2.4: the value is under "data"; a missing key has neither data nor etag.
                var entry = new JsonObject { ["key"] = key };
                if (_state.TryGetValue((store, key), out var v))
                {
                    entry["data"] = JsonNode.Parse(v.Value);
                    entry["etag"] = v.ETag.ToString(CultureInfo.InvariantCulture);
                }
                result.Add(entry);
            }
        }
        return new SidecarResponse(200, result.ToJsonString());
    }

    private SidecarResponse Delete(SidecarRequest r, string store, string key)
    {
        if (r.Body.Length > 0) Violation(r, "a delete carries no body (§2.5)");
        if (StateComponent(store) is not { } component) return SidecarResponse.Error(400, "ERR_STATE_STORE_NOT_FOUND");
        if (BadKey(key)) return SidecarResponse.Error(400, "ERR_MALFORMED_REQUEST");
        lock (_lock)
        {
            // §2.5: If-Match carries the ETag; §2.2: invalid → 400, mismatch → 409 ERR_STATE_DELETE.
            if (component.Capabilities.Contains("ETAG") && r.Header("if-match") is { } etag)
            {
                if (!ValidETag(etag)) return SidecarResponse.Error(400, "ERR_STATE_DELETE");
                if (!ETagMatches((store, key), etag)) return SidecarResponse.Error(409, "ERR_STATE_DELETE");
            }
            _state.Remove((store, key));
        }
        // §2.5: 204 also when absent.
        return SidecarResponse.NoContent;
    }

    private SidecarResponse Transaction(SidecarRequest r, string store)
    {
        var body = JsonBody(r, "§2.6", out var failure);
        if (failure is not null) return failure;
        if (!Shape(r, body, "the transaction", "§2.6", "operations", "metadata")) return SidecarResponse.Error(400, "ERR_MALFORMED_REQUEST");
        if (body!["operations"] is not JsonArray operations) return Undocumented(r, "operations is not an array (§2.6)");
        var parsed = new List<(string Operation, JsonObject Request)>();
        foreach (var op in operations)
        {
            if (!Shape(r, op, "an operation", "§2.6", "operation", "request")) return SidecarResponse.Error(400, "ERR_MALFORMED_REQUEST");
            var name = op!["operation"]?.GetValue<string>();
            // §2.6: only upsert and delete exist; anything else → 400 ERR_NOT_SUPPORTED_STATE_OPERATION.
            if (name is not ("upsert" or "delete")) return SidecarResponse.Error(400, "ERR_NOT_SUPPORTED_STATE_OPERATION");
            if (!StateItem(r, op["request"], "§2.6", valueAllowed: name == "upsert", valueRequired: name == "upsert"))
                return SidecarResponse.Error(400, "ERR_MALFORMED_REQUEST");
            parsed.Add((name, op["request"]!.AsObject()));
        }
        if (Violated) return SidecarResponse.Error(400, "ERR_MALFORMED_REQUEST");
        if (StateComponent(store) is not { } component) return SidecarResponse.Error(400, "ERR_STATE_STORE_NOT_FOUND");
        // §2.6: 500 ERR_STATE_STORE_NOT_SUPPORTED when the store lacks transactions.
        if (!component.Capabilities.Contains("TRANSACTIONAL")) return SidecarResponse.Error(500, "ERR_STATE_STORE_NOT_SUPPORTED");
        lock (_lock)
        {
            foreach (var (_, request) in parsed)
            {
                var key = request["key"]?.GetValue<string>();
                if (BadKey(key)) return SidecarResponse.Error(400, "ERR_MALFORMED_REQUEST");
                // §2.2: inside a transaction an ETag failure is 500 ERR_STATE_TRANSACTION, not 409.
                if (request["etag"]?.GetValue<string>() is { } etag && (!ValidETag(etag) || !ETagMatches((store, key!), etag)))
                    return SidecarResponse.Error(500, "ERR_STATE_TRANSACTION");
            }
            foreach (var (operation, request) in parsed)
            {
                var key = request["key"]!.GetValue<string>();
                if (operation == "upsert") _state[(store, key)] = (Encoding.UTF8.GetBytes(request["value"]?.ToJsonString() ?? "null"), ++_etag);
                else _state.Remove((store, key));
            }
        }
        // §2.6: 204 success.
        return SidecarResponse.NoContent;
    }

    private static readonly string[] PublishMetadata =
    [
        "metadata.rawPayload", "metadata.ttlInSeconds", "metadata.partitionKey", "metadata.cloudevent.id", "metadata.cloudevent.source",
        "metadata.cloudevent.type", "metadata.cloudevent.traceparent", "metadata.cloudevent.tracestate", "metadata.cloudevent.traceid",
    ];

    private SidecarResponse Publish(SidecarRequest r, string pubsub, string topic)
    {
        // §3.1: only the documented metadata keys.
        foreach (var name in r.Query.Keys.Where(n => !PublishMetadata.Contains(n)))
            return Undocumented(r, $"publish metadata '{name}' is not documented (§3.1)");
        // §3.1: 404 ERR_PUBSUB_NOT_FOUND for an unknown pubsub, ERR_TOPIC_NAME_EMPTY for an empty topic.
        if (!Components.Any(c => c.Name == pubsub && c.Type.StartsWith("pubsub.", StringComparison.Ordinal)))
            return SidecarResponse.Error(404, "ERR_PUBSUB_NOT_FOUND");
        if (topic.Length == 0) return SidecarResponse.Error(404, "ERR_TOPIC_NAME_EMPTY");
        // §3.1 / §3.4: a topic the component does not let this app publish → 403 ERR_PUBSUB_FORBIDDEN.
        if (PublishableTopics is not null && !PublishableTopics.Contains(topic)) return SidecarResponse.Error(403, "ERR_PUBSUB_FORBIDDEN");

        // §3.1: Content-Type decides datacontenttype and how data is embedded; no header → text/plain.
        var contentType = r.ContentType ?? "text/plain";
        JsonNode? data;
        if (IsJsonContentType(contentType))
        {
            try
            {
                data = JsonNode.Parse(r.Body);
            }
            catch (JsonException ex)
            {
                Violation(r, "a JSON-typed publish body that is not JSON (§3.1): " + ex.Message);
                return SidecarResponse.Error(400, "ERR_PUBSUB_CLOUD_EVENTS_SER");
            }
        }
        else
        {
            data = JsonValue.Create(r.BodyText);
        }
        // §3.1: the envelope Dapr generates; metadata.cloudevent.* override its fields.
        var envelope = new JsonObject
        {
            ["id"] = r.Query.GetValueOrDefault("metadata.cloudevent.id") ?? Guid.NewGuid().ToString(),
            ["source"] = r.Query.GetValueOrDefault("metadata.cloudevent.source") ?? AppId,
            ["type"] = r.Query.GetValueOrDefault("metadata.cloudevent.type") ?? "com.dapr.event.sent",
            ["specversion"] = "1.0",
            ["datacontenttype"] = contentType,
            ["data"] = data,
            ["topic"] = topic,
            ["pubsubname"] = pubsub,
            ["traceparent"] = "00-00000000000000000000000000000001-0000000000000001-01",
            ["time"] = DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture),
        };
        PublishedMessages.Enqueue(new Published(pubsub, topic, envelope, r));
        string? route;
        lock (_lock) route = _subscriptionRoutes.GetValueOrDefault(topic);
        if (route is not null && AppEndpoint is not null) _ = DeliverAsync(topic, route, envelope.ToJsonString());
        // §3.1: 204 accepted by the broker.
        return SidecarResponse.NoContent;
    }

    /// <summary>§3.5 delivery and §3.6 reading of the answer.</summary>
    private async Task DeliverAsync(string topic, string route, string envelope)
    {
        Delivery delivery;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(AppEndpoint!, route))
            {
                Content = new StringContent(envelope, Encoding.UTF8, "application/cloudevents+json"),
            };
            request.Headers.Add("traceparent", "00-00000000000000000000000000000001-0000000000000001-01");
            if (AppApiToken is not null) request.Headers.Add("dapr-api-token", AppApiToken);
            using var response = await _appClient.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            delivery = new Delivery(topic, route, (int)response.StatusCode, body, Verdict(response.StatusCode, body));
        }
        catch (HttpRequestException ex)
        {
            delivery = new Delivery(topic, route, 0, ex.Message, DeliveryVerdict.RetryableError);
        }
        await Deliveries.Writer.WriteAsync(delivery);
    }

    /// <summary>§3.6, row by row.</summary>
    public static DeliveryVerdict Verdict(HttpStatusCode status, string body)
    {
        if (status == HttpStatusCode.NotFound) return DeliveryVerdict.DroppedNotFound;
        if ((int)status is < 200 or > 299) return DeliveryVerdict.RetryableError;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("status", out var s)) return DeliveryVerdict.Success;
            return s.ValueKind == JsonValueKind.String
                ? s.GetString() switch
                {
                    "SUCCESS" => DeliveryVerdict.Success,
                    "RETRY" => DeliveryVerdict.Retry,
                    "DROP" => DeliveryVerdict.Drop,
                    _ => DeliveryVerdict.RetryableError,
                }
                : DeliveryVerdict.RetryableError;
        }
        catch (JsonException)
        {
            return DeliveryVerdict.Success; // §3.6: a non-JSON 2xx body is an ack.
        }
    }

    private SidecarResponse Secret(string store, string key)
    {
        // docs.dapr.io secrets API: 400 when the store is missing or misconfigured.
        if (!Components.Any(c => c.Name == store && c.Type.StartsWith("secretstores.", StringComparison.Ordinal)))
            return SidecarResponse.Error(400, "ERR_SECRET_STORE_NOT_FOUND");
        // 204 secret not found; 200 with a JSON map whose entry for the name is the value (name/value stores).
        if (!Secrets.TryGetValue(store, out var secrets) || !secrets.TryGetValue(key, out var value)) return SidecarResponse.NoContent;
        return new SidecarResponse(200, new JsonObject { [key] = value }.ToJsonString());
    }
}
