using Platform.BuildingBlocks.PubSub;
using Platform.Modeling.Registry;
using Platform.OfflineStore;
using Platform.OfflineStore.Monitoring;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;
using Platform.TestSupport;

namespace Platform.Monitoring.Tests;

/// <summary>
/// The monitoring service on 127.0.0.1:0 on the embedded runtime (temp data directory, real event log and subscribers),
/// with the real registry on the shared modelstore and the embedded offline store, written here as marketdata would.
/// </summary>
public sealed class MonitoringHost : IAsyncDisposable
{
    private ServiceTestHost _host = null!;
    public string DataDir { get; } = Directory.CreateTempSubdirectory("monitoring-tests-").FullName;
    public string Url => _host.Url;
    public HttpClient Http { get; } = new();
    public IServiceProvider Services => _host.Services;
    public IEventPublisher Publisher => Services.GetRequiredService<IEventPublisher>();
    public ModelRegistry Registry => Services.GetRequiredService<ModelRegistry>();
    public IPredictionStore Store => Services.GetRequiredService<IPredictionStore>();
    public SqliteBarStore Bars { get; }

    private MonitoringHost() => Bars = SqliteBarStore.InDataDir(DataDir);

    public static async Task<MonitoringHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var host = new MonitoringHost();
        try
        {
            await host.Bars.InitializeAsync();
            host._host = await ServiceTestHost.StartAsync(MonitoringService.Module, new ServiceTestOptions
            {
                DataDir = host.DataDir,
                Settings = settings ?? new Dictionary<string, string?>(),
            });
            return host;
        }
        catch
        {
            // A service that refuses to start leaves no data directory behind.
            await host.DisposeAsync();
            throw;
        }
    }

    public static ModelLineage Lineage(string target, int horizon, IReadOnlyList<string> symbols, DateTimeOffset from, DateTimeOffset to) => new(
        "fp", "alpha158@1", "hash", target, horizon, symbols, from, to, "ridge",
        new SortedDictionary<string, string>(StringComparer.Ordinal), 1, [], null, null, null, "test");

    public async Task<int> RegisterAsync(string model, ModelLineage lineage)
    {
        var v = await Registry.RegisterAsync(model, [1, 2, 3], lineage, runId: null);
        return v.Version;
    }

    public Task WriteBarsAsync(string symbol, IReadOnlyList<Bar> bars) =>
        Bars.WriteAsync(new BarWrite(bars.Select(b => new SymbolBar(symbol, BarInterval.OneDay, b)).ToList()));

    public Task PublishBarAsync(string symbol, Bar bar) =>
        Publisher.PublishAsync(new BarClosed(symbol, "1d", bar.Time, bar.Open, bar.High, bar.Low, bar.Close, bar.Volume));

    public async Task<T> GetAsync<T>(string path) =>
        (await Http.GetFromJsonAsync<T>(Url + path, MonitoringJson.Options))!;

    /// <summary>Waits until <paramref name="condition"/> holds (events are delivered asynchronously); fails after a generous bound.</summary>
    public static Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 60) =>
        Eventually.UntilAsync(condition, what, TimeSpan.FromSeconds(seconds));

    public async ValueTask DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        Http.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }
}

internal static class MonitoringJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}

/// <summary>A seeded daily series of log-normal returns whose volatility is multiplied by <c>factor</c> from bar <c>changeAt</c>.</summary>
public static class RegimeSeries
{
    public static readonly DateTimeOffset Start = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static List<Bar> Generate(int count, int seed, double dailyVol = 0.01, int changeAt = int.MaxValue, double factor = 2.5)
    {
        var rng = new Random(seed);
        var bars = new List<Bar>(count);
        var price = 100.0;
        for (var i = 0; i < count; i++)
        {
            var u1 = 1.0 - rng.NextDouble();
            var z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * rng.NextDouble());
            var open = price;
            price *= Math.Exp((i >= changeAt ? factor : 1.0) * dailyVol * z);
            var volume = Math.Round(1_000_000 * Math.Exp(0.3 * (rng.NextDouble() - 0.5)));
            var wick = 1 + 0.2 * dailyVol * rng.NextDouble();
            bars.Add(new Bar(Start.AddDays(i), open, Math.Max(open, price) * wick, Math.Min(open, price) / wick, price, volume));
        }
        return bars;
    }
}

/// <summary>
/// A monitoring host with the volatility model "vol" registered on the first 300 bars of "AAA", a series whose volatility
/// is 2.5 times larger from bar 400 on (<see cref="RegimeSeries"/>).
/// </summary>
public abstract class RegimeChangeTest(int seed, IReadOnlyDictionary<string, string?> settings) : IAsyncLifetime
{
    protected const int TrainEnd = 299;
    protected const int ChangeAt = 400;

    protected MonitoringHost Host { get; private set; } = null!;
    protected List<Platform.Quant.Bar> Bars { get; } = RegimeSeries.Generate(500, seed, changeAt: ChangeAt);

    public async Task InitializeAsync()
    {
        Host = await MonitoringHost.StartAsync(settings);
        await Host.WriteBarsAsync("AAA", Bars);
        var version = await Host.RegisterAsync("vol", MonitoringHost.Lineage("volatility", 5, ["AAA"], Bars[0].Time, Bars[TrainEnd].Time));
        await AfterRegisterAsync(version);
    }

    /// <summary>What a suite stores with the registered version before its tests run.</summary>
    protected virtual Task AfterRegisterAsync(int version) => Task.CompletedTask;

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
