using Platform.DaprSidecar.Testing;
using Platform.TestSupport;

namespace Platform.Training.Tests;

/// <summary>
/// The training service in Dapr mode, wired as it is deployed (service defaults, the Dapr adapter on the official SDK,
/// the start-up gate, <c>MapDaprEndpoints</c>) against the faithful sidecar: state kept re-serialized as PostgreSQL's
/// jsonb does, events through its broker. A training run goes end to end through the workflow runner on that state.
/// </summary>
public sealed class TrainingOnDaprTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("training-dapr-").FullName;
    private readonly SidecarCluster _cluster = new();
    private ServiceTestHost _host = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var sidecar = await _cluster.StartSidecarAsync(AppTopology.Training.AppId);
        _host = await ServiceTestHost.StartAsync(TrainingService.Module, new ServiceTestOptions
        {
            DataDir = _dir,
            Settings = new Dictionary<string, string?>(sidecar.AppSettings())
            {
                ["Runtime:Mode"] = "dapr",
                ["Training:SyntheticBars"] = "500",
                ["Dapr:RequiredComponents"] = Components.ModelStore,
                ["Workflows:PollInterval"] = "00:00:00.100",
                ["Workflows:LeaseDuration"] = "00:00:02",
                ["Workflows:RenewInterval"] = "00:00:00.500",
            },
        });
        await sidecar.ConnectAppAsync(new Uri(_host.Url + "/"));
        _http = _host.Http;
    }

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        await _cluster.DisposeAsync();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task PostTrainingRun_OnDaprAdapter_CompletesRegistersAndPublishesThroughTheSidecar()
    {
        var response = await _http.PostAsJsonAsync("/v1/training-runs", TrainingApiTests.Request("ret-dapr"), TrainingApiTests.Json);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        var run = await TrainingApiTests.WaitAsync(_http, response.Headers.Location!.ToString(), TimeSpan.FromSeconds(120));

        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal(1, run.GetProperty("outcome").GetProperty("version").GetInt32());
        var model = await _http.GetFromJsonAsync<JsonElement>("/v1/models/ret-dapr", TrainingApiTests.Json);
        Assert.Equal(1, model.GetProperty("champion").GetProperty("version").GetInt32());
        // The registry lives in the shared modelstore (keyPrefix name), the workflow in training's private statestore.
        Assert.NotEmpty(_cluster.State.Keys(Components.ModelStore));
        Assert.Contains(_cluster.State.Keys(Components.StateStore, AppTopology.Training.AppId), k => k.StartsWith("workflow:", StringComparison.Ordinal));
        var topics = _cluster.Broker.Published.Select(m => m.Topic).ToList();
        Assert.Contains(Topics.ModelRegistered, topics);
        Assert.Contains(Topics.ModelPromoted, topics);
        Assert.Contains(Topics.WorkflowEvents, topics);
    }
}
