using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.ServiceDefaults;

namespace Platform.MarketData.Testing;

/// <summary>
/// Test-only fault injection for the process-kill suite (<c>tests/MarketData.Tests/ImportKillTests.cs</c>). With
/// <c>MarketData:Testing:HaltAt</c> set, the offline store is wrapped so that the first bulk import (a write with a
/// <see cref="BarsImported"/> event) stops the thread at that point for good, after printing <c>HALTED {point}</c> on
/// standard output; the test then kills the process with SIGKILL. Points:
/// <list type="bullet">
/// <item><c>before-commit</c>: inside the import's transaction, every row written, the outbox row not yet, nothing committed.</item>
/// <item><c>after-commit</c>: the transaction committed, the API not yet answered (the relay may be publishing).</item>
/// <item><c>before-publish</c>: the relay holds the committed <see cref="BarsImported"/> and has not handed it to pub/sub.</item>
/// <item><c>after-publish</c>: the relay published it and has not marked it sent (a restart publishes it again).</item>
/// </list>
/// Unset (always, outside that suite) nothing is registered and the store is used as it is.
/// </summary>
public static class KillPoints
{
    public const string ConfigurationKey = "MarketData:Testing:HaltAt";
    public const string BeforeCommit = "before-commit";
    public const string AfterCommit = "after-commit";
    public const string BeforePublish = "before-publish";
    public const string AfterPublish = "after-publish";

    public static readonly IReadOnlyList<string> All = [BeforeCommit, AfterCommit, BeforePublish, AfterPublish];

    /// <summary>Wraps the registered <see cref="IBarStore"/> when <see cref="ConfigurationKey"/> is set; does nothing otherwise.</summary>
    public static IServiceCollection AddKillPoints(this IServiceCollection services, IConfiguration configuration)
    {
        if (HaltPoints.From(configuration, ConfigurationKey, All).Point is not { } point) return services;
        var inner = services.LastOrDefault(d => d.ServiceType == typeof(IBarStore))
            ?? throw new InvalidOperationException($"{ConfigurationKey} is set but no IBarStore is registered.");
        services.RemoveAll<IBarStore>();
        services.AddSingleton<IBarStore>(sp => new HaltingBarStore(Resolve(sp, inner), point));
        return services;
    }

    private static IBarStore Resolve(IServiceProvider sp, ServiceDescriptor d) =>
        (IBarStore)(d.ImplementationInstance ?? d.ImplementationFactory?.Invoke(sp) ?? ActivatorUtilities.CreateInstance(sp, d.ImplementationType!));

    private static void Halt(string point) => HaltPoints.Halt(point);

    private static bool IsImport(OutgoingEvent e) => e.Topic == Topics.MarketBars && e.Type == nameof(BarsImported);

    /// <summary>
    /// The event factory of an import, halting at <see cref="BeforeCommit"/>: the store asks for the event after writing
    /// every row, inside the transaction, before it commits.
    /// </summary>
    private static Func<SeriesChange, OutgoingEvent>? HaltingBeforeCommit(Func<SeriesChange, OutgoingEvent>? perSeries, string point)
    {
        if (point != BeforeCommit || perSeries is null) return perSeries;
        return change =>
        {
            var e = perSeries(change);
            Halt(point);
            return e;
        };
    }

    /// <summary>Halts at <see cref="AfterCommit"/> once an import's write has committed with its event.</summary>
    private static BarWriteResult HaltAfterCommit(BarWriteResult result, bool import, string point)
    {
        if (point == AfterCommit && import && result.EventsQueued > 0) Halt(point);
        return result;
    }

    private sealed class HaltingBarStore(IBarStore inner, string point) : IBarStore
    {
        public async Task<BarWriteResult> WriteAsync(BarWrite write, CancellationToken ct = default) =>
            HaltAfterCommit(await inner.WriteAsync(write with { PerSeries = HaltingBeforeCommit(write.PerSeries, point) }, ct),
                write.PerSeries is not null, point);

        public async Task<BarWriteResult> WriteSeriesAsync(SeriesWrite write, CancellationToken ct = default) =>
            HaltAfterCommit(await inner.WriteSeriesAsync(write with { PerSeries = HaltingBeforeCommit(write.PerSeries, point) }, ct),
                write.PerSeries is not null, point);

        public async Task<ISeriesAppend?> BeginAppendAsync(SeriesBatch batch, CancellationToken ct = default) =>
            await inner.BeginAppendAsync(batch, ct) is { } append ? new HaltingAppend(append, point) : null;

        public Task<int> RelayOutboxAsync(Func<IReadOnlyList<OutboxMessage>, CancellationToken, Task> publish, int max = 512, CancellationToken ct = default) =>
            inner.RelayOutboxAsync(async (messages, token) =>
            {
                var imports = messages.Any(m => IsImport(m.Event));
                if (point == BeforePublish && imports) Halt(point);
                await publish(messages, token);
                if (point == AfterPublish && imports) Halt(point);
            }, max, ct);

        public Task InitializeAsync(CancellationToken ct = default) => inner.InitializeAsync(ct);
        public Task<long> PendingOutboxCountAsync(CancellationToken ct = default) => inner.PendingOutboxCountAsync(ct);
        public Task<int> PurgeSentOutboxAsync(TimeSpan age, CancellationToken ct = default) => inner.PurgeSentOutboxAsync(age, ct);
        public Task WaitForOutboxAsync(TimeSpan poll, CancellationToken ct) => inner.WaitForOutboxAsync(poll, ct);
        public Task<IReadOnlyList<Bar>> GetBarsAsync(BarQuery query, CancellationToken ct = default) => inner.GetBarsAsync(query, ct);
        public IAsyncEnumerable<Bar> StreamBarsAsync(BarQuery query, CancellationToken ct = default) => inner.StreamBarsAsync(query, ct);
        public Task<IReadOnlyList<SeriesCoverage>> GetCoverageAsync(string? symbol = null, CancellationToken ct = default) => inner.GetCoverageAsync(symbol, ct);
    }

    /// <summary>A streamed import (<see cref="IBarStore.BeginAppendAsync"/>) with the same halting points as a finished one.</summary>
    private sealed class HaltingAppend(ISeriesAppend inner, string point) : ISeriesAppend
    {
        public void Send() => inner.Send();

        public async Task<BarWriteResult> CommitAsync(Func<SeriesChange, OutgoingEvent>? perSeries, CancellationToken ct = default) =>
            HaltAfterCommit(await inner.CommitAsync(HaltingBeforeCommit(perSeries, point), ct), perSeries is not null, point);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
