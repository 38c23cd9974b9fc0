namespace Platform.BuildingBlocks.State;

/// <summary>Outcome of a state write. Anything else (store down, bad request) is an exception.</summary>
public enum StateOutcome
{
    Ok,
    /// <summary>The ETag did not match: someone else wrote first. Re-read and retry.</summary>
    Conflict,
    /// <summary>A transaction was not applied, whatever the cause (an ETag conflict inside it included).</summary>
    TransactionFailed,
}

/// <summary>A stored value: UTF-8 JSON bytes and the opaque ETag of this version.</summary>
public sealed record StateItem(string Key, ReadOnlyMemory<byte> Value, string ETag);

/// <summary>One operation in a state transaction: an upsert or a delete, each optionally guarded by an ETag.</summary>
public abstract record StateOperation(string Key, string? ETag)
{
    public sealed record Upsert(string Key, ReadOnlyMemory<byte> Value, string? ETag = null) : StateOperation(Key, ETag);

    public sealed record Delete(string Key, string? ETag = null) : StateOperation(Key, ETag);
}

/// <summary>
/// The key/value state port, one instance per component (statestore, featurestore, modelstore) bound to
/// the calling app id. Values are JSON. Semantics follow Dapr's state API: a write with an ETag is
/// first-write-wins (mismatch: <see cref="StateOutcome.Conflict"/>, also when the key is absent), a write
/// without one is last-write-wins, deletes of absent keys succeed, transactions are all-or-nothing.
/// Keys are prefixed per the component's keyPrefix rule (<c>appid</c> or <c>name</c>) by the adapter.
/// </summary>
public interface IStateStore
{
    string Name { get; }

    Task<StateItem?> GetAsync(string key, CancellationToken ct = default);

    /// <summary>Returns the items found, in no particular order; absent keys are left out.</summary>
    Task<IReadOnlyList<StateItem>> GetBulkAsync(IReadOnlyCollection<string> keys, CancellationToken ct = default);

    Task<StateOutcome> SaveAsync(string key, ReadOnlyMemory<byte> value, string? etag = null, CancellationToken ct = default);

    Task<StateOutcome> DeleteAsync(string key, string? etag = null, CancellationToken ct = default);

    /// <summary>Applies every operation or none: <see cref="StateOutcome.Ok"/> or <see cref="StateOutcome.TransactionFailed"/>.</summary>
    Task<StateOutcome> TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken ct = default);
}

/// <summary>Gives the state store for a component name (see <c>Platform.Contracts.Components</c>).</summary>
public interface IStateStoreProvider
{
    IStateStore Get(string componentName);
}

/// <summary>The store could not do what was asked (unavailable, malformed request); carries the adapter's error code.</summary>
public sealed class StateStoreException(string message, string? errorCode = null, Exception? inner = null)
    : Exception(message, inner)
{
    public string? ErrorCode { get; } = errorCode;
}
