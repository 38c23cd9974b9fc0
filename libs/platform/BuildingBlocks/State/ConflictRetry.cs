namespace Platform.BuildingBlocks.State;

/// <summary>
/// Read-modify-write under ETags: read with the ETag, write first-write-wins, and on a conflict read again after a short
/// random pause (so writers that collided do not collide again in lock step). Bounded: after
/// <c>maxAttempts</c> conflicts it gives up with a <see cref="StateStoreException"/> coded <c>CONFLICT</c>.
/// </summary>
public static class ConflictRetry
{
    /// <summary>Runs <paramref name="attempt"/> until it reports done; its result is returned.</summary>
    public static async Task<T> RunAsync<T>(string what, Func<CancellationToken, Task<(bool Done, T Result)>> attempt,
        CancellationToken ct = default, int maxAttempts = 20)
    {
        for (var n = 1; ; n++)
        {
            var (done, result) = await attempt(ct);
            if (done) return result;
            if (n >= maxAttempts) throw new StateStoreException($"Gave up {what} after {n} conflicting attempts.", "CONFLICT");
            await Task.Delay(Random.Shared.Next(1, Math.Min(5 * n, 50) + 1), ct);
        }
    }

    /// <summary>Runs <paramref name="attempt"/> until it answers true (written, or nothing left to write).</summary>
    public static Task RunAsync(string what, Func<CancellationToken, Task<bool>> attempt, CancellationToken ct = default, int maxAttempts = 20) =>
        RunAsync<bool>(what, async token => (await attempt(token), true), ct, maxAttempts);
}
