using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;
using Platform.Features.History;
using Platform.Features.Pipeline;
using Platform.OfflineStore;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;
using Platform.ServiceDefaults;

namespace Platform.Features.Tests;

/// <summary>Every event the features app published, recorded at the publish port (and forwarded to the real bus).</summary>
public sealed class PublishedEvents
{
    public ConcurrentQueue<OutgoingEvent> All { get; } = new();

    public IReadOnlyList<FeaturesComputed> FeaturesComputed(string? set = null) =>
        All.Where(e => e.Topic == Topics.MarketFeatures)
            .Select(e => System.Text.Json.JsonSerializer.Deserialize<FeaturesComputed>(e.Data.Span, FeatureJson.Options)!)
            .Where(e => set is null || e.FeatureSet == set).ToList();
}

internal sealed class RecordingPublisher(IEventPublisher inner, PublishedEvents events) : IEventPublisher
{
    public async Task PublishAsync(OutgoingEvent e, CancellationToken ct = default)
    {
        await inner.PublishAsync(e, ct);
        if (e.Topic == Topics.MarketFeatures) events.All.Enqueue(e);
    }
}

/// <summary>
/// The features service as it runs: Kestrel on 127.0.0.1:0, the embedded runtime in a temporary data directory. The test
/// plays marketdata: it stores bars in <c>bars.db</c> and publishes BarClosed / BarsImported through the publish port.
/// </summary>
public sealed class FeaturesApp : IAsyncDisposable
{
    private WebApplication? _app;

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
    public string Url { get; private set; } = "";
    public IServiceProvider Services => _app!.Services;
    public FeatureMetrics Metrics => Services.GetRequiredService<FeatureMetrics>();
    public IFeatureHistory History => Services.GetRequiredService<IFeatureHistory>();
    public OnlineFeatureStore Online => Services.GetRequiredService<OnlineFeatureStore>();
    public IEventPublisher Publisher => Services.GetRequiredService<IEventPublisher>();

    public static async Task<FeaturesApp> StartAsync(string? dataDir = null, PublishedEvents? events = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        dataDir ??= Directory.CreateTempSubdirectory("features-tests-").FullName;
        var app = new FeaturesApp(dataDir, events ?? new PublishedEvents(), settings ?? new Dictionary<string, string?>());
        await app.Bars.InitializeAsync();
        await app.RestartAsync();
        return app;
    }

    /// <summary>Starts (again) on the same data directory.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ApplicationName = "Platform.Features", ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Runtime:Mode"] = "embedded",
            ["DataDir"] = DataDir,
            ["Logging:Format"] = "text",
            ["Logging:LogLevel:Default"] = "Warning",
            ["PubSub:Embedded:PollInterval"] = "00:00:00.020",
            ["PubSub:InitialBackoff"] = "00:00:00.010",
        });
        builder.Configuration.AddInMemoryCollection(Settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults(AppTopology.Features);
        builder.AddFeatures();
        var inner = builder.Services.Last(d => d.ServiceType == typeof(IEventPublisher));
        builder.Services.AddSingleton<IEventPublisher>(sp => new RecordingPublisher((IEventPublisher)inner.ImplementationFactory!(sp), Events));
        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapFeatures();
        await app.StartAsync();
        Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

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
    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Timed out waiting for " + what);
            await Task.Delay(20);
        }
    }

    public async Task<T?> PrivateStateAsync<T>(string key) =>
        await Services.GetRequiredService<IStateStoreProvider>().Get(Components.StateStore).GetAsync<T>(key);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
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
