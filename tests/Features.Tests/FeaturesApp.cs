using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Features.History;
using Platform.Features.Pipeline;
using Platform.OfflineStore;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;
using Platform.TestSupport;

namespace Platform.Features.Tests;

/// <summary>Every event the features app published, recorded at the publish port (and forwarded to the real bus).</summary>
public sealed class PublishedEvents
{
    public ConcurrentQueue<OutgoingEvent> All { get; } = new();

    public IReadOnlyList<FeaturesComputed> FeaturesComputed(string? set = null) =>
        All.Where(e => e.Topic == Topics.MarketFeatures)
            .Select(e => System.Text.Json.JsonSerializer.Deserialize<FeaturesComputed>(e.Data.Span, FeatureJson.Options)!)
            .Where(e => set is null || e.FeatureSet == set).ToList();

    private int _failAfter = -1;

    /// <summary>
    /// The next <c>market-features</c> publish after <paramref name="published"/> more have gone out fails once, as an
    /// unreachable broker would: a batch publish sends the events before it, then throws.
    /// </summary>
    public void FailOnceAfter(int published) => Volatile.Write(ref _failAfter, published);

    /// <summary>Whether the publish of a market-features event may go out; false exactly once when a failure is due.</summary>
    internal bool MayPublish()
    {
        while (true)
        {
            var left = Volatile.Read(ref _failAfter);
            if (left < 0) return true;
            if (Interlocked.CompareExchange(ref _failAfter, left - 1, left) == left) return left > 0;
        }
    }
}

internal sealed class RecordingPublisher(IEventPublisher inner, PublishedEvents events) : IEventPublisher
{
    public async Task PublishAsync(OutgoingEvent e, CancellationToken ct = default) => await PublishManyAsync([e], ct);

    public async Task PublishManyAsync(IReadOnlyList<OutgoingEvent> batch, CancellationToken ct = default)
    {
        var allowed = batch.TakeWhile(e => e.Topic != Topics.MarketFeatures || events.MayPublish()).ToList();
        await inner.PublishManyAsync(allowed, ct);
        foreach (var e in allowed.Where(e => e.Topic == Topics.MarketFeatures)) events.All.Enqueue(e);
        if (allowed.Count < batch.Count) throw new IOException("The broker is unreachable (a failure injected by the test).");
    }
}

/// <summary>
/// The features service as it runs: Kestrel on 127.0.0.1:0, the embedded runtime in a temporary data directory. The test
/// plays marketdata: it stores bars in <c>bars.db</c> and publishes BarClosed / BarsImported through the publish port.
/// </summary>
public sealed class FeaturesApp : IAsyncDisposable
{
    private ServiceTestHost? _host;

    private FeaturesApp(string dataDir, PublishedEvents events, IReadOnlyDictionary<string, string?> settings)
    {
        DataDir = dataDir;
        Events = events;
        Settings = settings;
        Bars = SqliteBarStore.InDataDir(dataDir);
    }

    public string DataDir { get; }
    public PublishedEvents Events { get; }
    public IReadOnlyDictionary<string, string?> Settings { get; }
    public SqliteBarStore Bars { get; }
    public string Url => _host!.Url;
    public IServiceProvider Services => _host!.Services;
    public FeatureMetrics Metrics => Services.GetRequiredService<FeatureMetrics>();
    public IFeatureHistory History => Services.GetRequiredService<IFeatureHistory>();
    public OnlineFeatureStore Online => Services.GetRequiredService<OnlineFeatureStore>();
    public IEventPublisher Publisher => Services.GetRequiredService<IEventPublisher>();

    public static async Task<FeaturesApp> StartAsync(string? dataDir = null, PublishedEvents? events = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        dataDir ??= Directory.CreateTempSubdirectory("features-tests-").FullName;
        var app = new FeaturesApp(dataDir, events ?? new PublishedEvents(), settings ?? new Dictionary<string, string?>());
        await app.Bars.InitializeAsync();
        app._host = await ServiceTestHost.StartAsync(FeaturesService.Module, new ServiceTestOptions
        {
            DataDir = dataDir,
            Settings = app.Settings,
            Configure = builder =>
            {
                var inner = builder.Services.Last(d => d.ServiceType == typeof(IEventPublisher));
                builder.Services.AddSingleton<IEventPublisher>(sp => new RecordingPublisher((IEventPublisher)inner.ImplementationFactory!(sp), app.Events));
            },
        });
        return app;
    }

    /// <summary>Starts (again) on the same data directory.</summary>
    public Task RestartAsync() => _host!.RestartAsync();

    public Task StopAsync() => _host?.StopAsync() ?? Task.CompletedTask;

    /// <summary>Stores bars as marketdata would (before their events).</summary>
    public Task StoreAsync(string symbol, IEnumerable<Bar> bars, BarInterval? interval = null) =>
        Bars.WriteAsync(new BarWrite(bars.Select(b => new SymbolBar(symbol, interval ?? BarInterval.OneDay, b)).ToList()));

    public static BarClosed Event(string symbol, Bar b, string interval = "1d") =>
        new(symbol, interval, b.Time, b.Open, b.High, b.Low, b.Close, b.Volume, b.Vwap);

    /// <summary>Stores the bars, then publishes one BarClosed each.</summary>
    public async Task StreamAsync(string symbol, IEnumerable<Bar> bars)
    {
        var list = bars.ToList();
        await StoreAsync(symbol, list);
        foreach (var b in list) await Publisher.PublishAsync(Event(symbol, b));
    }

    /// <summary>
    /// Waits until every listed set's checkpoint (the last write of a bar's effects, after history, featurestore and publish)
    /// is at <paramref name="time"/>.
    /// </summary>
    public async Task WaitForLatestAsync(string symbol, DateTimeOffset time, IEnumerable<string> sets, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        foreach (var set in sets)
        {
            while (true)
            {
                var checkpoint = await PrivateStateAsync<FeatureCheckpoint>(FeatureCheckpoint.Key(set, symbol, "1d"));
                if (checkpoint?.LastTime == time) break;
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"{set} {symbol}: checkpoint is at {checkpoint?.LastTime:o}, expected {time:o}.");
                await Task.Delay(20);
            }
        }
    }

    /// <summary>Waits until a condition on the app holds.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) => Eventually.UntilAsync(condition, what, timeout);

    public async Task<T?> PrivateStateAsync<T>(string key) =>
        await Services.GetRequiredService<IStateStoreProvider>().Get(Components.StateStore).GetAsync<T>(key);

    public async ValueTask DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDir, true); } catch (IOException) { }
    }
}

public static class TestBars
{
    /// <summary>Seeded synthetic daily bars of one symbol (weekdays, midnight UTC).</summary>
    public static IReadOnlyList<Bar> Daily(int count, ulong seed = 7, string symbol = "SYN") =>
        Platform.Quant.Synthetic.SyntheticMarket.Generate(new Platform.Quant.Synthetic.SyntheticMarketOptions
        {
            Symbols = [new Platform.Quant.Synthetic.SyntheticSymbol(symbol)], Bars = count, Seed = seed,
        }).Select(b => b.Bar).ToList();

    /// <summary>Asserts two vectors are the same bit for bit (NaN equal to NaN).</summary>
    public static void Identical(IReadOnlyList<double> expected, IReadOnlyList<double> actual, string where)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
            if (BitConverter.DoubleToInt64Bits(expected[i]) != BitConverter.DoubleToInt64Bits(actual[i])
                && !(double.IsNaN(expected[i]) && double.IsNaN(actual[i])))
                Assert.Fail($"{where}: value {i} is {actual[i]:R}, expected {expected[i]:R}");
    }
}
