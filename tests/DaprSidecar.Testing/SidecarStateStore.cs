using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;

namespace Platform.DaprSidecar.Testing;

/// <summary>
/// The state of every state component, as daprd over a PostgreSQL or Redis store keeps it: keys prefixed per the
/// component's keyPrefix (<c>appid||key</c> or <c>name||key</c>), numeric ETags from one counter, an ETag checked on any
/// write that carries one (absent key: mismatch), transactions validated whole before anything is applied, and JSON
/// values re-serialized as <c>jsonb</c> does when <see cref="SidecarClusterOptions.ReserializeJson"/> is on.
/// Failures are gRPC statuses: <see cref="StatusCode.Aborted"/> for an ETag mismatch, <see cref="StatusCode.InvalidArgument"/>
/// for a malformed ETag or key, <see cref="StatusCode.Internal"/> for a failed transaction.
/// </summary>
public sealed class SidecarStateStore(SidecarCluster cluster)
{
    private readonly object _lock = new();
    private readonly Dictionary<string, (byte[] Value, long ETag)> _items = new(StringComparer.Ordinal);
    private long _etag = 1000;

    /// <summary>One write inside <see cref="Apply"/>: value null deletes.</summary>
    public sealed record Write(string StoreKey, byte[]? Value, string? ETag, string Key);

    /// <summary>The key as stored, after the component's prefix rule.</summary>
    public string StoreKey(string store, string appId, string key)
    {
        var component = cluster.Component(store) ?? throw Fail(StatusCode.InvalidArgument, $"state store {store} is not found");
        if (!component.Type.StartsWith("state.", StringComparison.Ordinal))
            throw Fail(StatusCode.InvalidArgument, $"state store {store} is not found");
        if (string.IsNullOrEmpty(key)) throw Fail(StatusCode.InvalidArgument, "key is empty");
        if (key.Contains("||", StringComparison.Ordinal)) throw Fail(StatusCode.InvalidArgument, $"input key/keyPrefix '{key}' can't contain '||'");
        return component.KeyPrefix switch
        {
            "appid" => appId + "||" + key,
            "name" => store + "||" + key,
            _ => key,
        };
    }

    /// <summary>The stored bytes of a key as an app of <paramref name="appId"/> would address it (null when absent).</summary>
    public byte[]? Raw(string store, string appId, string key)
    {
        lock (_lock) return _items.TryGetValue(StoreKey(store, appId, key), out var item) ? item.Value : null;
    }

    /// <summary>The keys held for <paramref name="store"/>, without their prefix; <paramref name="appId"/> for appid-prefixed stores.</summary>
    public IReadOnlyList<string> Keys(string store, string? appId = null)
    {
        var component = cluster.Component(store) ?? throw new ArgumentException($"No component {store}.", nameof(store));
        var prefix = component.KeyPrefix switch
        {
            "appid" => (appId ?? throw new ArgumentNullException(nameof(appId))) + "||",
            "name" => store + "||",
            _ => "",
        };
        lock (_lock) return _items.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Select(k => k[prefix.Length..]).ToList();
    }

    public (byte[]? Value, string ETag) Get(string storeKey)
    {
        lock (_lock)
            return _items.TryGetValue(storeKey, out var item) ? (item.Value, item.ETag.ToString(CultureInfo.InvariantCulture)) : (null, "");
    }

    /// <summary>Applies every write or none; throws the status daprd answers.</summary>
    public void Apply(IReadOnlyList<Write> writes, bool transaction)
    {
        lock (_lock)
        {
            foreach (var w in writes)
            {
                if (w.ETag is null or "") continue;
                if (!long.TryParse(w.ETag, NumberStyles.None, CultureInfo.InvariantCulture, out var expected))
                    throw Fail(transaction ? StatusCode.Internal : StatusCode.InvalidArgument, $"invalid etag value: {w.ETag}");
                var matches = _items.TryGetValue(w.StoreKey, out var current) && current.ETag == expected;
                if (!matches)
                    throw Fail(transaction ? StatusCode.Internal : StatusCode.Aborted,
                        transaction
                            ? $"error while executing state transaction: possible etag mismatch for key {w.Key}"
                            : $"failed saving state in state store: possible etag mismatch. error from state store: ERR_ETAG_MISMATCH ({w.Key})");
            }
            foreach (var w in writes)
            {
                if (w.Value is null) _items.Remove(w.StoreKey);
                else _items[w.StoreKey] = (Stored(w.Value), ++_etag);
            }
        }
    }

    private byte[] Stored(byte[] value)
    {
        if (!cluster.Options.ReserializeJson) return value;
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(value);
        }
        catch (JsonException)
        {
            return value;
        }
        return JsonSerializer.SerializeToUtf8Bytes(Canonical(node));
    }

    /// <summary><c>jsonb</c> order: shorter keys first, then by bytes; no whitespace.</summary>
    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key.Length).ThenBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Canonical(p.Value?.DeepClone())))),
        JsonArray a => new JsonArray(a.Select(x => Canonical(x?.DeepClone())).ToArray()),
        _ => node?.DeepClone(),
    };

    internal static RpcException Fail(StatusCode code, string message) => new(new Status(code, message));
}
