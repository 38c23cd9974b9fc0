using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Modeling.Registry;
using Platform.Modeling.Targets;
using Platform.TestSupport;
using Platform.Serving.Features;
using Platform.Serving.Models;

namespace Platform.Serving.Tests;

/// <summary>The serving service on 127.0.0.1:0 on the embedded runtime (temp data directory), with the real registry.</summary>
public sealed class ServingHost : IAsyncDisposable
{
    public const string FeatureSet = "test@1";
    public static readonly string[] FeatureNames = ["f1", "f2", "f3"];

    private ServiceTestHost? _host;
    public string DataDir => _host!.DataDir;
    public string Url => _host!.Url;
    public HttpClient Http { get; } = new();
    public IServiceProvider Services => _host!.Services;
    public ModelHost Models => Services.GetRequiredService<ModelHost>();

    /// <summary>The registry on the data directory's <c>modelstore</c> (shared by every app, as under Dapr).</summary>
    public ModelRegistry Registry { get; private set; } = null!;

    public static Task<ServingHost> StartAsync(Func<ModelRegistry, Task>? seed = null) => StartAsync(seed, null, new Dictionary<string, string?>());

    public static Task<ServingHost> StartAsync(Func<ModelRegistry, Task>? seed, IReadOnlyDictionary<string, string?> settings) =>
        StartAsync(seed, null, settings);

    /// <summary>Another replica of the serving app on <paramref name="first"/>'s data directory (same stores, same consumer group).</summary>
    public static Task<ServingHost> StartReplicaAsync(ServingHost first, IReadOnlyDictionary<string, string?> settings) =>
        StartAsync(null, first.DataDir, settings);

    private static async Task<ServingHost> StartAsync(Func<ModelRegistry, Task>? seed, string? dataDir, IReadOnlyDictionary<string, string?> settings)
    {
        var host = new ServingHost();
        // Seed through a registry of its own before the service starts, as training would have.
        host._host = await ServiceTestHost.StartAsync(ServingService.Module, new ServiceTestOptions
        {
            DataDir = dataDir,
            Settings = settings,
            BeforeStart = async app =>
            {
                host.Registry = new ModelRegistry(app.Services.GetRequiredService<IStateStoreProvider>().Get(Components.ModelStore),
                    app.Services.GetRequiredService<IEventPublisher>());
                if (seed is not null) await seed(host.Registry);
            },
        });
        return host;
    }

    /// <summary>A <c>mean</c> baseline: it predicts <paramref name="constant"/> whatever the features, so a response names its version by value.</summary>
    public static byte[] ConstantModel(double constant)
    {
        var frame = new FeatureFrame(new float[3 * 4], 4, FeatureNames);
        using var model = ModelFactory.Fit(new ModelSpec(ModelKinds.HistoricalMean), new TrainingData(frame, [constant, constant, constant, constant],
            new TargetSpec(TargetKind.Return, 5), 1));
        return model.ToArtifact();
    }

    /// <summary>A small XGBoost model on y = 2·f1 − f2 (+ noise) and the model itself, to compare predictions.</summary>
    public static IModel XGBoostModel(int rounds = 30)
    {
        var rng = new Random(7);
        const int rows = 300;
        var x = new float[rows * 3];
        var y = new double[rows];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < 3; j++) x[i * 3 + j] = (float)(rng.NextDouble() * 2 - 1);
            y[i] = 2 * x[i * 3] - x[i * 3 + 1] + rng.NextDouble() * 0.01;
        }
        var spec = new ModelSpec(ModelKinds.XGBoost).With("num_boost_round", rounds.ToString(System.Globalization.CultureInfo.InvariantCulture)).With("nthread", "1");
        return ModelFactory.Fit(spec, new TrainingData(new FeatureFrame(x, rows, FeatureNames), y, new TargetSpec(TargetKind.Return, 5), 1));
    }

    public static ModelLineage Lineage(string kind = ModelKinds.HistoricalMean) => new(
        "fp", FeatureSet, "hash-test", "return", 5, ["AAA"], DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddDays(1), kind,
        new SortedDictionary<string, string>(StringComparer.Ordinal), 1, [], null, null, null, "test");

    public static async Task<int> RegisterAndPromoteAsync(ModelRegistry registry, string name, byte[] artifact, string kind = ModelKinds.HistoricalMean)
    {
        var version = await registry.RegisterAsync(name, artifact, Lineage(kind), runId: null);
        await registry.PromoteAsync(name, version.Version, ModelStage.Production);
        return version.Version;
    }

    public async Task PutFeaturesAsync(string symbol, double?[] values, DateTimeOffset time, string interval = "1d", string? setHash = "hash-test")
    {
        var store = Services.GetRequiredService<IStateStoreProvider>().Get(Components.FeatureStore);
        await store.SaveAsync(StoredFeatureVector.Key(FeatureSet, symbol, interval),
            new StoredFeatureVector(FeatureSet, setHash ?? "", symbol, interval, time, FeatureNames, values));
    }

    public async Task WaitForVersionAsync(string model, int version, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline)
        {
            if (Models.Snapshot.Models.TryGetValue(model, out var m) && m.Version == version) return;
            await Task.Delay(10);
        }
        throw new TimeoutException($"{model} v{version} was not loaded in time.");
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (_host is not null) await _host.DisposeAsync();
    }
}
