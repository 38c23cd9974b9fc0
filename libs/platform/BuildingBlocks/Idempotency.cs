using Platform.BuildingBlocks.State;

namespace Platform.BuildingBlocks;

/// <summary>
/// Makes an at-least-once handler effectively-once: the handler's state changes and a "processed" marker for
/// the CloudEvent id are committed in one transaction, and an event whose marker exists is skipped. Use the
/// app's private <c>statestore</c> (keyPrefix appid), so the marker is per consumer group.
/// Deliveries of one subscription are sequential, so two copies of one event are not handled at the same time;
/// if they were, the transaction of the second would still commit (ETags cannot express "only if absent").
/// </summary>
public static class Idempotency
{
    public static string MarkerKey(string eventId) => "processed/" + eventId;

    /// <summary>
    /// Runs <paramref name="handle"/> unless <paramref name="eventId"/> was processed; commits the operations it
    /// returns together with the marker. Returns false for a duplicate. A failed commit throws (the delivery is retried).
    /// </summary>
    public static async Task<bool> HandleOnceAsync(this IStateStore store, string eventId,
        Func<CancellationToken, Task<IReadOnlyList<StateOperation>>> handle, CancellationToken ct = default)
    {
        var marker = MarkerKey(eventId);
        if (await store.GetAsync(marker, ct) is not null) return false;
        var operations = await handle(ct);
        var all = new List<StateOperation>(operations.Count + 1);
        all.AddRange(operations);
        all.Add(StateStoreExtensions.Upsert(marker, new ProcessedMarker(DateTimeOffset.UtcNow)));
        var outcome = await store.TransactAsync(all, ct);
        if (outcome != StateOutcome.Ok)
            throw new StateStoreException($"Could not commit the effects of event '{eventId}' ({outcome}); it will be redelivered.", "ERR_STATE_TRANSACTION");
        return true;
    }

    private sealed record ProcessedMarker(DateTimeOffset ProcessedAt);
}
