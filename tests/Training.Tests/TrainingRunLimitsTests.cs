using Platform.Training.Runs;
using Platform.Training.Workflows;
using Platform.TestSupport;
using Platform.Workflows;

namespace Platform.Training.Tests;

/// <summary>Limits, cancellation, strict values and owners of training runs, through HTTP on the shared test host.</summary>
public sealed class TrainingRunLimitsTests() : TrainingHostTest("training-limits-", Limits)
{
    private static readonly Dictionary<string, string?> Limits = new()
    {
        ["Training:Limits:MaxDatasetRows"] = "1200",
        ["Training:Limits:MaxConcurrentRuns"] = "2",
        ["Training:Limits:MaxConcurrentRunsPerCaller"] = "1",
    };

    private const string Alice = "api-key:alice; scopes=models:read models:write";
    private const string Bob = "api-key:bob; scopes=models:read models:write";
    private const string Carol = "api-key:carol; scopes=models:write";
    private const string Admin = "api-key:root; scopes=admin";

    /// <summary>
    /// A run that takes a while: two synthetic symbols (1000 rows), XGBoost with many rounds on ten folds. A cancelled run
    /// stops at the next fold, so the folds are kept short.
    /// </summary>
    private static string SlowRun(string model) => $$$"""
        {"symbols":["ALPHA","BRAVO"],"target":"return","horizon":5,"model":"{{{model}}}","folds":10,"dataSource":"synthetic",
         "candidates":[{"kind":"xgboost","parameters":{"num_boost_round":"800","max_depth":"5","eta":"0.01"}}]}
        """;

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json = null, string? principal = null) =>
        Host.Http.SendJsonAsync(method, path, json, principal);

    /// <summary>Posts a training run that must be refused with 400; the messages of its errors for <paramref name="field"/>.</summary>
    private async Task<string> RefusedAsync(string json, string field)
    {
        var response = await SendAsync(HttpMethod.Post, "/v1/training-runs", json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return Errors(await response.ReadProblemAsync(), field);
    }

    private static string Errors(JsonElement problem, string field) =>
        string.Join(" ", problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString()));

    [Fact]
    public async Task PostTrainingRun_FiveThousandSymbols_BadRequestNamingTheLimitAndItsValue()
    {
        var symbols = string.Join(",", Enumerable.Range(0, 5000).Select(i => $"\"U{i}\""));
        var message = await RefusedAsync($$"""{"symbols":[{{symbols}}],"target":"return","horizon":5,"dataSource":"synthetic"}""", "symbols");
        Assert.Contains("5000 symbols", message);
        Assert.Contains("at most 100 (Training:Limits:MaxSymbols)", message);
    }

    [Fact]
    public async Task PostTrainingRun_DatasetOverRowLimit_BadRequestNamingRowsLimit()
    {
        // Three synthetic symbols of 500 bars: 1,500 rows against a limit of 1,200.
        var message = await RefusedAsync("""{"symbols":["ALPHA","BRAVO","CHARLIE"],"target":"return","horizon":5,"dataSource":"synthetic"}""", "symbols");
        Assert.Contains("1,500 rows", message);
        Assert.Contains("1,200 (Training:Limits:MaxDatasetRows)", message);
    }

    [Theory]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"dataSource":"synthetic","searchTrials":51}""", "searchTrials", "Training:Limits:MaxSearchTrials")]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"dataSource":"synthetic","candidates":[{"kind":"ridge"},{"kind":"ridge"},{"kind":"ridge"},{"kind":"ridge"},{"kind":"ensemble","members":[{"kind":"ridge"},{"kind":"xgboost"},{"kind":"fasttree"},{"kind":"lightgbm"}]}]}""", "candidates", "Training:Limits:MaxCandidates")]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"dataSource":"synthetic","candidates":[{"kind":"xgboost","parameters":{"num_boost_round":"100000000"}}]}""", "candidates.parameters", "Training:Limits:MaxTrees")]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"dataSource":"synthetic","candidates":[{"kind":"ensemble","members":[{"kind":"ridge"},{"kind":"xgboost","parameters":{"max_depth":"40"}}]}]}""", "candidates.parameters", "Training:Limits:MaxTreeDepth")]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"dataSource":"synthetic","candidates":[{"kind":"fasttree","parameters":{"trees":"many"}}]}""", "candidates.parameters", "not a whole number")]
    public async Task PostTrainingRun_OverRequestLimit_BadRequestNamingIt(string json, string field, string key)
    {
        Assert.Contains(key, await RefusedAsync(json, field));
    }

    [Theory]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"candidates":[null]}""", "candidates")]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"candidates":[{"kind":"ensemble","members":[null]}]}""", "candidates")]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"candidates":[{"kind":"ensemble"}]}""", "candidates")]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"policy":{"metric":null}}""", "policy.metric")]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"policy":{"metric":"rank_ic","minImprovement":"NaN"}}""", "policy.minImprovement")]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"finalFraction":"NaN"}""", "finalFraction")]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"from":"0001-01-01T00:00:00Z"}""", "from")]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"to":"9999-12-31T00:00:00Z"}""", "to")]
    [InlineData("""{"symbols":["ALPHA"],"target":"return","horizon":5,"featureSet":null}""", "featureSet")]
    [InlineData("""{"symbols":[null],"target":"return","horizon":5}""", "symbols")]
    public async Task PostTrainingRun_ValueOutOfRangeOrNull_ValidationProblemNamingField(string json, string field)
    {
        var response = await SendAsync(HttpMethod.Post, "/v1/training-runs", json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadProblemAsync()).GetProperty("errors").TryGetProperty(field, out _), field);
    }

    [Fact]
    public async Task PostTrainingRun_SeveralUnknownCandidates_ReportsEveryOne()
    {
        var message = await RefusedAsync("""{"symbols":["ALPHA"],"target":"return","horizon":5,"candidates":[{"kind":"nope"},{"kind":"ridge"},{"kind":"other"}]}""", "candidates");
        Assert.Contains("candidates[0]: unknown candidate 'nope'", message);
        Assert.Contains("candidates[2]: unknown candidate 'other'", message);
        Assert.DoesNotContain("candidates[1]", message);
    }

    [Fact]
    public async Task PostTrainingRun_ConcurrentRunLimits_TooManyRequestsPerCallerAndInTotalUntilOneIsCancelled()
    {
        var first = await SendAsync(HttpMethod.Post, "/v1/training-runs", SlowRun("limit-a"), Alice);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var second = await SendAsync(HttpMethod.Post, "/v1/training-runs", SlowRun("limit-a2"), Alice);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal(("Training:Limits:MaxConcurrentRunsPerCaller", 1), await second.ReadLimitAsync());

        var bobs = await SendAsync(HttpMethod.Post, "/v1/training-runs", SlowRun("limit-b"), Bob);
        Assert.Equal(HttpStatusCode.Accepted, bobs.StatusCode);
        var carols = await SendAsync(HttpMethod.Post, "/v1/training-runs", SlowRun("limit-c"), Carol);
        Assert.Equal(HttpStatusCode.TooManyRequests, carols.StatusCode);
        Assert.Equal(("Training:Limits:MaxConcurrentRuns", 2), await carols.ReadLimitAsync());

        // A cancelled run frees its slot.
        var cancelled = await SendAsync(HttpMethod.Delete, first.Headers.Location!.ToString(), principal: Alice);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        var again = await SendAsync(HttpMethod.Post, "/v1/training-runs", SlowRun("limit-a3"), Alice);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);

        foreach (var (location, who) in new[] { (bobs.Headers.Location!, Bob), (again.Headers.Location!, Alice) })
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Delete, location.ToString(), principal: who)).StatusCode);
    }

    [Fact]
    public async Task DeleteTrainingRun_Running_EndsTerminatedRegistersNothingAndStaysTerminatedAfterRestart()
    {
        var started = await SendAsync(HttpMethod.Post, "/v1/training-runs", SlowRun("cancelled"), Alice);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var location = started.Headers.Location!.ToString();

        var cancelled = await SendAsync(HttpMethod.Delete, location, principal: Alice);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        var view = await cancelled.Content.ReadFromJsonAsync<JsonElement>(TrainingApiTests.Json);
        Assert.Equal("terminated", view.GetProperty("status").GetString());
        Assert.Equal("Cancelled by api-key:alice.", view.GetProperty("error").GetString());

        await Host.RestartAsync();
        var run = await Host.Http.GetFromJsonAsync<JsonElement>(location, TrainingApiTests.Json);
        Assert.Equal("terminated", run.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await Host.Http.GetAsync("/v1/models/cancelled")).StatusCode);
        // Cancelling again changes nothing.
        var again = await SendAsync(HttpMethod.Delete, location, principal: Alice);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("terminated", (await again.Content.ReadFromJsonAsync<JsonElement>(TrainingApiTests.Json)).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task TrainingRun_UnknownIdReadOrCancelled_NotFoundProblem(string method)
    {
        var response = await SendAsync(new HttpMethod(method), "/v1/training-runs/train-nope", principal: Admin);
        Assert.Equal((HttpStatusCode.NotFound, 404), (response.StatusCode, (await response.ReadProblemAsync()).GetProperty("status").GetInt32()));
    }

    [Fact]
    public async Task TrainingRun_StartedPastTheApiOverItsBudget_FailsBeforeLoadingAndIsNotResumedAfterRestart()
    {
        // As the command line and the demo bootstrap do: scheduled on the workflow client, without the API's checks.
        var workflows = Host.Services.GetRequiredService<WorkflowClient>();
        var request = new TrainingRequest(["ALPHA", "BRAVO", "CHARLIE"], "return", 5, Model: "over-budget", DataSource: DataSources.Synthetic);
        await workflows.ScheduleNewWorkflowAsync(nameof(TrainingWorkflow), "train-over-budget", request);
        var run = await TrainingApiTests.WaitAsync(Host.Http, "/v1/training-runs/train-over-budget", TimeSpan.FromSeconds(60));
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("Training:Limits:MaxDatasetRows", run.GetProperty("error").GetString());
        Assert.Equal(0, run.GetProperty("done").GetInt32());

        await Host.RestartAsync();
        var after = await Host.Http.GetFromJsonAsync<JsonElement>("/v1/training-runs/train-over-budget", TrainingApiTests.Json);
        Assert.Equal("failed", after.GetProperty("status").GetString());
        // Cancelling a finished run changes nothing: it answers the run as it is.
        var deleted = await SendAsync(HttpMethod.Delete, "/v1/training-runs/train-over-budget");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal("failed", (await deleted.Content.ReadFromJsonAsync<JsonElement>(TrainingApiTests.Json)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task TrainingRun_WithOwner_VisibleToOwnerAndAdminOnly()
    {
        var started = await SendAsync(HttpMethod.Post, "/v1/training-runs", SlowRun("owned"), Alice);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal("api-key:alice", (await started.Content.ReadFromJsonAsync<JsonElement>(TrainingApiTests.Json)).GetProperty("owner").GetString());
        var location = started.Headers.Location!.ToString();

        var own = await SendAsync(HttpMethod.Get, location, principal: Alice);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal("api-key:alice", (await own.Content.ReadFromJsonAsync<JsonElement>(TrainingApiTests.Json)).GetProperty("owner").GetString());
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, location, principal: Admin)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, location, principal: Bob)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, location + "/trials", principal: Bob)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Delete, location, principal: Bob)).StatusCode);
        Assert.NotEqual("terminated", await StatusAsync(location, Alice));

        var byAdmin = await SendAsync(HttpMethod.Delete, location, principal: Admin);
        Assert.Equal(HttpStatusCode.OK, byAdmin.StatusCode);
        Assert.Equal("Cancelled by api-key:root.", (await byAdmin.Content.ReadFromJsonAsync<JsonElement>(TrainingApiTests.Json)).GetProperty("error").GetString());
    }

    private async Task<string?> StatusAsync(string location, string principal)
    {
        var response = await SendAsync(HttpMethod.Get, location, principal: principal);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(TrainingApiTests.Json)).GetProperty("status").GetString();
    }

    [Fact]
    public async Task OpenApi_TrainingRuns_DescribesCancelTheConcurrencyLimitAndTheEngineUnavailable()
    {
        var (cancel, documents429, documents503) = await Host.Http.DescribeRunApiAsync("/v1/training-runs");
        Assert.Equal("CancelTrainingRun", cancel);
        Assert.True(documents429);
        Assert.True(documents503);
    }

    [Fact]
    public async Task HealthReady_ProcessOverRunsMemoryBudget_Degraded()
    {
        await Host.DisposeAsync();
        Host = await TrainingHost.StartAsync(DataDir, settings: new Dictionary<string, string?>
        {
            ["Training:Limits:MemoryBudgetMiB"] = "1",
            ["Training:Limits:MaxConcurrentRuns"] = "1",
        });
        var response = await Host.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Degraded", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task PostTrainingRun_DatasetOverMemoryBudget_BadRequestNamingBudget()
    {
        await Host.DisposeAsync();
        Host = await TrainingHost.StartAsync(DataDir, settings: new Dictionary<string, string?> { ["Training:Limits:MemoryBudgetMiB"] = "1" });
        var message = await RefusedAsync("""{"symbols":["ALPHA","BRAVO"],"target":"return","horizon":5,"dataSource":"synthetic"}""", "memory");
        Assert.Contains("1 MiB (Training:Limits:MemoryBudgetMiB)", message);
    }
}
