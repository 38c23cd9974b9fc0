using Platform.DaprSidecar.Testing;
using Platform.Modeling.Models;
using Platform.TestSupport;
using Platform.Training.Runs;
using Platform.Workflows;

namespace Platform.Training.Tests;

/// <summary>
/// The training service in Dapr mode, wired as it is deployed (service defaults, the Dapr adapter on the official SDK,
/// the start-up gate, <c>MapDaprEndpoints</c>) against the faithful sidecar: state kept re-serialized as PostgreSQL's jsonb
/// does, events through its broker. The same tests run on both workflow engines (<see cref="TrainingOnDaprEngineTests"/>,
/// <see cref="TrainingOnEmbeddedEngineTests"/>), so the API answers the same whichever runs the runs.
/// </summary>
public abstract class TrainingOnDaprSuite(string engine) : IAsyncLifetime
{
    private readonly GatedCandidateRuntime _candidates = new();
    private DaprServiceHost _service = null!;
    protected DaprServiceHost Service => _service;
    private HttpClient Http => _service.Http;

    public async Task InitializeAsync() =>
        _service = await DaprServiceHost.StartAsync(TrainingService.Module, engine, new Dictionary<string, string?>
        {
            ["Training:SyntheticBars"] = "500",
            ["Training:Limits:MaxConcurrentRuns"] = "1",
            ["Dapr:RequiredComponents"] = Components.ModelStore,
            ["Workflows:PollInterval"] = "00:00:00.100",
            ["Workflows:LeaseDuration"] = "00:00:02",
            ["Workflows:RenewInterval"] = "00:00:00.500",
        }, builder => builder.Services.AddSingleton<ICandidateRuntime>(_candidates));

    public async Task DisposeAsync()
    {
        _candidates.Open();
        if (_service is not null) await _service.DisposeAsync();
    }

    private IReadOnlyList<string> Published(string topic, string? id = null) =>
        _service.Cluster.Broker.Published.Where(m => m.Topic == topic && (id is null || m.Id == id)).Select(m => m.Id).ToList();

    [Fact]
    [Trait("Category", "Slow")]
    public async Task PostTrainingRun_OnDapr_CompletesRegistersOnceAndPublishesCompletedOnce()
    {
        var response = await Http.PostAsJsonAsync("/v1/training-runs", TrainingApiTests.Request("ret-dapr"), TrainingApiTests.Json);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.Location!.ToString();
        var id = location.Split('/')[^1];

        var run = await TrainingApiTests.WaitAsync(Http, location, TimeSpan.FromSeconds(120));

        Assert.Equal("completed", run.GetProperty("status").GetString());
        // The last step the workflow set as its custom status, and the counts it carried.
        Assert.Equal("completed", run.GetProperty("step").GetString());
        Assert.Equal(run.GetProperty("total").GetInt32(), run.GetProperty("done").GetInt32());
        Assert.Equal(1, run.GetProperty("outcome").GetProperty("version").GetInt32());
        var model = await Http.GetFromJsonAsync<JsonElement>("/v1/models/ret-dapr", TrainingApiTests.Json);
        Assert.Equal(1, model.GetProperty("champion").GetProperty("version").GetInt32());
        Assert.NotEmpty(_service.Cluster.State.Keys(Components.ModelStore));
        // The engine asked for ran the run: only the embedded runner keeps its records in the app's state store.
        Assert.Equal(engine, _service.Host.Services.GetRequiredService<IWorkflowClient>().Engine);
        Assert.Equal(engine == "embedded", _service.Cluster.State.Keys(Components.StateStore, AppTopology.Training.AppId)
            .Any(k => k.StartsWith("workflow:", StringComparison.Ordinal)));
        Assert.Single(Published(Topics.ModelRegistered));
        await Eventually.UntilAsync(() => Published(Topics.WorkflowEvents, $"wf:{id}:completed").Count > 0, "the completed event");
        Assert.Single(Published(Topics.WorkflowEvents, $"wf:{id}:completed"));
        Assert.Empty(Published(Topics.WorkflowEvents, $"wf:{id}:failed"));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task PostTrainingRun_SecondWhileOneRuns_RefusedThenCancelTerminatesTheFirst()
    {
        _candidates.Close();
        var response = await Http.PostAsJsonAsync("/v1/training-runs", TrainingApiTests.Request("ret-dapr-cancel"), TrainingApiTests.Json);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.Location!.ToString();
        // The run waits at its first baseline: the step and counts come from the workflow's custom status.
        JsonElement running = default;
        await Eventually.UntilAsync(async () =>
        {
            running = await Http.GetFromJsonAsync<JsonElement>(location, TrainingApiTests.Json);
            return running.GetProperty("step").GetString()?.StartsWith("validate-baseline:", StringComparison.Ordinal) == true;
        }, "the run at its first baseline", TimeSpan.FromSeconds(60));
        Assert.Equal("running", running.GetProperty("status").GetString());
        Assert.Equal(1, running.GetProperty("done").GetInt32());
        Assert.Equal(10, running.GetProperty("total").GetInt32()); // load, 3 baselines, 2 candidates, evaluate, champion, register, promote

        var second = await Http.PostAsJsonAsync("/v1/training-runs", TrainingApiTests.Request("ret-dapr-second"), TrainingApiTests.Json);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        var problem = await second.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Training:Limits:MaxConcurrentRuns", problem.GetProperty("limit").GetString());

        var cancelled = await Http.DeleteAsync(location);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        var run = await cancelled.Content.ReadFromJsonAsync<JsonElement>(TrainingApiTests.Json);
        Assert.Equal("terminated", run.GetProperty("status").GetString());
        Assert.StartsWith("Cancelled by", run.GetProperty("error").GetString());
        _candidates.Open();
        Assert.Empty(Published(Topics.ModelRegistered));
    }
}

public sealed class TrainingOnDaprEngineTests() : TrainingOnDaprSuite("dapr")
{
    [Fact]
    [Trait("Category", "Slow")]
    public async Task PostTrainingRun_WorkflowEngineGone_Returns503ProblemWithRetryAfter()
    {
        await Service.StopWorkflowEngineAsync();

        var response = await Service.Http.PostAsJsonAsync("/v1/training-runs", TrainingApiTests.Request("ret-dapr-gone"), TrainingApiTests.Json);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(WorkflowEngineUnavailableProblems.RetryAfterSeconds), response.Headers.RetryAfter?.Delta);
        Assert.Contains("workflow API did not answer", body, StringComparison.Ordinal);
    }
}

public sealed class TrainingOnEmbeddedEngineTests() : TrainingOnDaprSuite("embedded");

/// <summary>The machine's candidate check, held while closed: a run waits at its first validation as long as the test needs.</summary>
internal sealed class GatedCandidateRuntime : ICandidateRuntime
{
    private readonly ManualResetEventSlim _open = new(true);
    private readonly NativeCandidateRuntime _inner = new();

    public void Close() => _open.Reset();
    public void Open() => _open.Set();

    public string? Unavailable(ModelSpec spec)
    {
        _open.Wait(TimeSpan.FromMinutes(2));
        return _inner.Unavailable(spec);
    }
}
