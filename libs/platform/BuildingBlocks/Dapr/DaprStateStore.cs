using System.Collections.Concurrent;
using System.Text.Json;
using Dapr.Client;
using GetBulkStateRequest = Dapr.Client.Autogen.Grpc.v1.GetBulkStateRequest;
using Grpc.Core;
using Platform.BuildingBlocks.State;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>One state store per Dapr state component; the component's keyPrefix is applied by the sidecar (§2.9).</summary>
public sealed class DaprStateStoreProvider(DaprCalls calls) : IStateStoreProvider
{
    private readonly ConcurrentDictionary<string, IStateStore> _stores = new(StringComparer.Ordinal);

    public IStateStore Get(string componentName) => _stores.GetOrAdd(componentName, name => new DaprStateStore(calls, name));
}

/// <summary>
/// The state port on <see cref="DaprClient"/> (gRPC). Keys go as they are: the sidecar prefixes them per the component's
/// keyPrefix. A write with an ETag is first-write-wins; the SDK's <c>TrySave</c>/<c>TryDelete</c> report a mismatch
/// (<see cref="StatusCode.Aborted"/>) as false, which is <see cref="StateOutcome.Conflict"/>. A transaction the sidecar
/// refuses with <see cref="StatusCode.Aborted"/>, <see cref="StatusCode.Internal"/> or
/// <see cref="StatusCode.FailedPrecondition"/> (daprd answers Internal for an ETag failure inside it) was not applied:
/// <see cref="StateOutcome.TransactionFailed"/>. Everything else is a <see cref="StateStoreException"/> carrying the
/// gRPC status name. Values come back as the store keeps them: JSON may be re-serialized (key order, whitespace).
/// Bulk get goes through the generated stub (see <see cref="DaprCalls.Stub"/>) so that a key the store failed to read
/// throws instead of looking absent.
/// </summary>
public sealed class DaprStateStore(DaprCalls calls, string name) : IStateStore
{
    private static readonly StateOptions FirstWrite = new() { Concurrency = ConcurrencyMode.FirstWrite };

    public string Name { get; } = name;

    public async Task<StateItem?> GetAsync(string key, CancellationToken ct = default)
    {
        var (value, etag) = await Run(DaprCalls.Kind.Read, $"Get '{key}'",
            (c, t) => c.GetByteStateAndETagAsync(Name, key, cancellationToken: t), ct);
        // daprd answers an absent key with empty data and no ETag.
        if (value.IsEmpty) return null;
        if (!IsJson(value.Span))
            throw new StateStoreException($"Get '{key}' from '{Name}': the stored value is not JSON.", DaprErrorCodes.MalformedResponse);
        return new StateItem(key, value, etag ?? "");
    }

    public async Task<IReadOnlyList<StateItem>> GetBulkAsync(IReadOnlyCollection<string> keys, CancellationToken ct = default)
    {
        var distinct = keys.Distinct(StringComparer.Ordinal).ToList();
        if (distinct.Count == 0) return [];
        var request = new GetBulkStateRequest { StoreName = Name, Parallelism = Math.Min(distinct.Count, 10) };
        request.Keys.AddRange(distinct);
        var found = await Run(DaprCalls.Kind.Read, "Bulk get",
            async (_, t) => await calls.Stub.GetBulkStateAsync(request, calls.StubHeaders, cancellationToken: t), ct);
        var items = new List<StateItem>(found.Items.Count);
        foreach (var item in found.Items)
        {
            // A key the store failed to read carries an error and no data: never report it as absent.
            if (!string.IsNullOrEmpty(item.Error))
                throw new StateStoreException($"Bulk get from '{Name}' failed for '{item.Key}': {item.Error}", "ERR_STATE_BULK_GET");
            if (item.Data.IsEmpty) continue;
            var bytes = item.Data.ToByteArray();
            if (!IsJson(bytes))
                throw new StateStoreException($"Bulk get from '{Name}': the value of '{item.Key}' is not JSON.", DaprErrorCodes.MalformedResponse);
            items.Add(new StateItem(item.Key, bytes, item.Etag ?? ""));
        }
        return items;
    }

    public async Task<StateOutcome> SaveAsync(string key, ReadOnlyMemory<byte> value, string? etag = null, CancellationToken ct = default)
    {
        CheckJson(key, value.Span);
        if (etag is null)
        {
            await Run(DaprCalls.Kind.Write, $"Save '{key}'", async (c, t) =>
            {
                await c.SaveByteStateAsync(Name, key, value, cancellationToken: t);
                return true;
            }, ct);
            return StateOutcome.Ok;
        }
        var saved = await Run(DaprCalls.Kind.Write, $"Save '{key}'",
            (c, t) => c.TrySaveByteStateAsync(Name, key, value, etag, FirstWrite, cancellationToken: t), ct);
        return saved ? StateOutcome.Ok : StateOutcome.Conflict;
    }

    public async Task<StateOutcome> DeleteAsync(string key, string? etag = null, CancellationToken ct = default)
    {
        if (etag is null)
        {
            await Run(DaprCalls.Kind.Write, $"Delete '{key}'", async (c, t) =>
            {
                await c.DeleteStateAsync(Name, key, cancellationToken: t);
                return true;
            }, ct);
            return StateOutcome.Ok;
        }
        var deleted = await Run(DaprCalls.Kind.Write, $"Delete '{key}'",
            (c, t) => c.TryDeleteStateAsync(Name, key, etag, FirstWrite, cancellationToken: t), ct);
        return deleted ? StateOutcome.Ok : StateOutcome.Conflict;
    }

    public async Task<StateOutcome> TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken ct = default)
    {
        if (operations.Count == 0) return StateOutcome.Ok;
        var requests = new List<StateTransactionRequest>(operations.Count);
        foreach (var operation in operations)
        {
            var options = operation.ETag is null ? null : FirstWrite;
            requests.Add(operation switch
            {
                StateOperation.Upsert upsert => Checked(upsert),
                StateOperation.Delete delete => new StateTransactionRequest(delete.Key, null, StateOperationType.Delete, delete.ETag, options: options),
                _ => throw new StateStoreException($"Unsupported state operation {operation.GetType().Name}.", "ERR_NOT_SUPPORTED_STATE_OPERATION"),
            });
        }
        try
        {
            await calls.RunAsync(DaprCalls.Kind.Write, $"Transaction on state store '{Name}'",
                (c, t) => c.ExecuteStateTransactionAsync(Name, requests, cancellationToken: t), ct);
            return StateOutcome.Ok;
        }
        catch (DaprApiException ex) when (ex.Status is StatusCode.Aborted or StatusCode.Internal or StatusCode.FailedPrecondition)
        {
            return StateOutcome.TransactionFailed;
        }
        catch (DaprApiException ex)
        {
            throw new StateStoreException(ex.Message, ex.ErrorCode, ex);
        }

        StateTransactionRequest Checked(StateOperation.Upsert upsert)
        {
            CheckJson(upsert.Key, upsert.Value.Span);
            return new StateTransactionRequest(upsert.Key, upsert.Value.ToArray(), StateOperationType.Upsert, upsert.ETag,
                options: upsert.ETag is null ? null : FirstWrite);
        }
    }

    private async Task<T> Run<T>(DaprCalls.Kind kind, string what, Func<DaprClient, CancellationToken, Task<T>> call, CancellationToken ct)
    {
        try
        {
            return await calls.RunAsync(kind, $"{what} on state store '{Name}'", call, ct);
        }
        catch (DaprApiException ex)
        {
            throw new StateStoreException(ex.Message, ex.ErrorCode, ex);
        }
    }

    private static void CheckJson(string key, ReadOnlySpan<byte> value)
    {
        if (!IsJson(value)) throw new StateStoreException($"The value of '{key}' is not JSON.", "ERR_MALFORMED_REQUEST");
    }

    private static bool IsJson(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return false;
        try
        {
            var reader = new Utf8JsonReader(bytes);
            while (reader.Read()) { }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
