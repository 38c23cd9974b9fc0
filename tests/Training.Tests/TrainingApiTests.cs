using System.Text.Json.Serialization;
using Platform.Modeling.Registry;
using Platform.TestSupport;

namespace Platform.Training.Tests;

/// <summary>The training service on the shared test host, on a data directory the test owns.</summary>
internal sealed class TrainingHost : IAsyncDisposable
{
    private readonly ServiceTestHost _host;
    public HttpClient Http => _host.Http;
    public IServiceProvider Services => _host.Services;

    private TrainingHost(ServiceTestHost host) => _host = host;

    public static async Task<TrainingHost> StartAsync(string dataDir, Action<IServiceCollection>? services = null,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Training:SyntheticBars"] = "500",
            ["Workflows:PollInterval"] = "00:00:00.100",
            ["Workflows:LeaseDuration"] = "00:00:02",
            ["Workflows:RenewInterval"] = "00:00:00.500",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        return new(await ServiceTestHost.StartAsync(TrainingService.Module, new ServiceTestOptions
        {
            DataDir = dataDir,
            Settings = all,
            Configure = services is null ? null : builder => services(builder.Services),
        }));
    }

    /// <summary>Stops the service and starts it again on the same data directory.</summary>
    public Task RestartAsync() => _host.RestartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}

public sealed class TrainingApiTests : IAsyncLifetime
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("training-api-").FullName;
    private TrainingHost _host = null!;

    public async Task InitializeAsync() => _host = await TrainingHost.StartAsync(_dir);

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    internal static object Request(string model, string target = "return") => new
    {
        symbols = new[] { "ALPHA", "BRAVO" },
        target,
        horizon = 5,
        model,
        folds = 3,
        dataSource = "synthetic",
        candidates = new object[]
        {
            new { kind = "ridge", parameters = new Dictionary<string, string> { ["alpha"] = "1000" } },
            new { kind = "xgboost", parameters = new Dictionary<string, string> { ["num_boost_round"] = "40", ["max_depth"] = "3" } },
        },
    };

    internal static async Task<JsonElement> WaitAsync(HttpClient http, string location, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var run = await http.GetFromJsonAsync<JsonElement>(location, Json);
            var status = run.GetProperty("status").GetString();
            if (status is "completed" or "failed" or "terminated") return run;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Run still {status} at step {run.GetProperty("step")}.");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task PostTrainingRun_Completes_RegistersAndPromotesFirstVersion()
    {
        var response = await _host.Http.PostAsJsonAsync("/v1/training-runs", Request("ret-h5"), Json);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.Location!.ToString();
        var run = await WaitAsync(_host.Http, location, TimeSpan.FromSeconds(90));
        Assert.Equal("completed", run.GetProperty("status").GetString());
        var outcome = run.GetProperty("outcome");
        Assert.Equal(1, outcome.GetProperty("version").GetInt32());
        Assert.True("Production" == outcome.GetProperty("stage").GetString(), outcome.GetProperty("decision").GetString());
        Assert.Equal(3, outcome.GetProperty("baselines").GetArrayLength());
        Assert.Equal(3, outcome.GetProperty("candidates")[0].GetProperty("folds").GetArrayLength());

        var models = await _host.Http.GetFromJsonAsync<JsonElement>("/v1/models", Json);
        Assert.Equal("ret-h5", models[0].GetProperty("name").GetString());
        var model = await _host.Http.GetFromJsonAsync<JsonElement>("/v1/models/ret-h5", Json);
        Assert.Equal(1, model.GetProperty("champion").GetProperty("version").GetInt32());
        var lineage = model.GetProperty("champion").GetProperty("lineage");
        Assert.Equal("alpha158@1", lineage.GetProperty("featureSet").GetString());
        Assert.Equal(64, lineage.GetProperty("datasetFingerprint").GetString()!.Length);
        Assert.Equal("synthetic", lineage.GetProperty("dataSource").GetString());

        // The registry's artifact loads and verifies.
        var registry = _host.Services.GetRequiredService<ModelRegistry>();
        var (version, bytes) = await registry.LoadArtifactAsync("ret-h5", ModelAliases.Champion);
        using var loaded = Platform.Modeling.Models.ModelFactory.Load(bytes);
        Assert.Equal(158, loaded.FeatureNames.Count);
        Assert.Equal(version.ArtifactSha256, Platform.Modeling.Models.ModelArtifact.Sha256(bytes));
        Assert.True(lineage.GetProperty("final").GetProperty("count").GetInt32() > 0);

        var trials = await _host.Http.GetFromJsonAsync<JsonElement>(location + "/trials", Json);
        Assert.Equal(run.GetProperty("outcome").GetProperty("dataset").GetProperty("fingerprint").GetString(), trials.GetProperty("datasetFingerprint").GetString());
        Assert.False(string.IsNullOrEmpty(trials.GetProperty("codeVersion").GetString()));
        var rows = trials.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal(5, rows.Count); // three baselines, two candidates
        Assert.Single(rows, t => t.GetProperty("winner").GetBoolean());
        var xgb = rows.Single(t => t.GetProperty("kind").GetString() == "xgboost");
        Assert.Equal("40", xgb.GetProperty("parameters").GetProperty("num_boost_round").GetString());
        Assert.Equal(3, xgb.GetProperty("folds").GetArrayLength());
        Assert.True(xgb.GetProperty("seconds").GetDouble() > 0);
        Assert.True(xgb.GetProperty("final").GetProperty("count").GetInt32() > 0);

        var files = await _host.Http.GetFromJsonAsync<JsonElement>("/v1/models/ret-h5/versions/champion/files", Json);
        var names = files.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.Contains("card.md", names);
        Assert.Contains("predicted-vs-actual.png", names);
        // The drift reference monitoring reads: a profile per feature and of the final period's predictions.
        var reference = await _host.Http.GetFromJsonAsync<JsonElement>("/v1/models/ret-h5/versions/1/files/reference.json", Json);
        Assert.Equal("alpha158@1", reference.GetProperty("featureSet").GetString());
        Assert.True(reference.GetProperty("features").EnumerateObject().Count() > 100);
        Assert.True(reference.GetProperty("predictions").GetProperty("count").GetInt32() > 0);
        Assert.Equal(lineage.GetProperty("finalFrom").GetDateTimeOffset(), reference.GetProperty("predictionsFrom").GetDateTimeOffset());
        var card = await _host.Http.GetStringAsync("/v1/models/ret-h5/versions/1/files/card.md");
        Assert.Contains("# ret-h5 v1", card);
        Assert.Contains("synthetic", card);
        var png = await _host.Http.GetAsync("/v1/models/ret-h5/versions/1/files/predicted-vs-actual.png");
        Assert.Equal("image/png", png.Content.Headers.ContentType!.MediaType);
        Assert.Equal(0x89, (await png.Content.ReadAsByteArrayAsync())[0]);
        Assert.Equal(HttpStatusCode.NotFound, (await _host.Http.GetAsync("/v1/models/ret-h5/versions/1/files/nope.png")).StatusCode);
    }

    [Fact]
    public async Task PostTrainingRun_SameRunAgain_RegisteredButKeptOutOfProductionByRescoredChampion()
    {
        var first = await _host.Http.PostAsJsonAsync("/v1/training-runs", Request("again"), Json);
        var run1 = await WaitAsync(_host.Http, first.Headers.Location!.ToString(), TimeSpan.FromSeconds(90));
        Assert.Equal("Production", run1.GetProperty("outcome").GetProperty("stage").GetString());

        // The same data and seed give the same winner. The champion has seen the final period, so its recipe is refitted on
        // the same inner rows: the two tie there, and a tie does not beat the champion.
        var second = await _host.Http.PostAsJsonAsync("/v1/training-runs", Request("again"), Json);
        var run2 = await WaitAsync(_host.Http, second.Headers.Location!.ToString(), TimeSpan.FromSeconds(90));
        var outcome = run2.GetProperty("outcome");
        Assert.Equal(2, outcome.GetProperty("version").GetInt32());
        Assert.Equal("None", outcome.GetProperty("stage").GetString());
        Assert.False(outcome.GetProperty("gate").GetProperty("promote").GetBoolean());
        Assert.Contains("champion v1", outcome.GetProperty("decision").GetString());
        var champion = outcome.GetProperty("champion");
        Assert.Equal(1, champion.GetProperty("version").GetInt32());
        Assert.Equal(run1.GetProperty("outcome").GetProperty("candidates").EnumerateArray()
                .Single(c => c.GetProperty("model").GetString() == run1.GetProperty("outcome").GetProperty("winner").GetString())
                .GetProperty("final").GetProperty("rankIc").GetDouble(),
            champion.GetProperty("final").GetProperty("rankIc").GetDouble(), 9);
        var model = await _host.Http.GetFromJsonAsync<JsonElement>("/v1/models/again", Json);
        Assert.Equal(1, model.GetProperty("champion").GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task PostTrainingRun_InvalidRequest_ValidationProblem()
    {
        var response = await _host.Http.PostAsJsonAsync("/v1/training-runs", new { symbols = Array.Empty<string>(), target = "price", horizon = 0 }, Json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
        Assert.True(problem.GetProperty("errors").TryGetProperty("target", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("horizon", out _));
    }

    [Fact]
    public async Task PostTrainingRun_SymbolNotInStore_BadRequestNamingSymbolAndStoreContents()
    {
        var response = await _host.Http.PostAsJsonAsync("/v1/training-runs",
            new { symbols = new[] { "NVDAA" }, target = "return", horizon = 5 }, Json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
        var message = string.Join(" ", problem.GetProperty("errors").GetProperty("symbols").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("'NVDAA'", message);
        Assert.Contains("The store is empty", message);
        Assert.Empty(await _host.Http.GetFromJsonAsync<JsonElement[]>("/v1/models", Json) ?? []);
    }

    [Fact]
    public async Task PostTrainingRun_UnknownDataSource_ValidationProblem()
    {
        var response = await _host.Http.PostAsJsonAsync("/v1/training-runs",
            new { symbols = new[] { "ALPHA" }, target = "return", horizon = 5, dataSource = "made-up" }, Json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
        Assert.True(problem.GetProperty("errors").TryGetProperty("dataSource", out _));
    }

    [Fact]
    public async Task GetTrainingRun_Unknown_NotFoundProblem()
    {
        var response = await _host.Http.GetAsync("/v1/training-runs/train-nope");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData("{\"stage\":\"Production\",\"policy\":{\"metric\":null}}", "policy.metric")]
    [InlineData("{\"stage\":\"Production\",\"policy\":{\"metric\":\"no-such-metric\"}}", "policy.metric")]
    public async Task ModelsApi_PromoteWithInvalidPolicy_Answers400ValidationProblemAndKeepsTheStage(string body, string field)
    {
        var registry = _host.Services.GetRequiredService<ModelRegistry>();
        var lineage = new ModelLineage("fp", "alpha158@1", "h", "return", 5, ["A"], DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch,
            "ridge", new(StringComparer.Ordinal), 1, [], new(10, 0.1, 0.1, 0.0, 0.01, 0.01, 0.5, null, "time-series"), null, null, "t");
        await registry.RegisterAsync("p", [1, 2, 3], lineage, "run1");

        var response = await _host.Http.PostAsync("/v1/models/p/versions/1/promote", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _));
        Assert.Equal(JsonValueKind.Null, (await _host.Http.GetFromJsonAsync<JsonElement>("/v1/models/p", Json)).GetProperty("model").GetProperty("champion").ValueKind);
    }

    [Fact]
    public async Task ModelsApi_PromoteCompareRollbackArchive_OverHttp()
    {
        var registry = _host.Services.GetRequiredService<ModelRegistry>();
        ModelLineage L(double ic) => new("fp", "alpha158@1", "h", "return", 5, ["A"], DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch,
            "ridge", new(StringComparer.Ordinal), 1, [], new(10, 0.1, 0.1, 0.0, ic, ic, 0.5, null, "time-series"), null, null, "t");
        for (var i = 1; i <= 3; i++) await registry.RegisterAsync("m", [(byte)i, 2, 3], L(0.01 * i), "run" + i);

        Assert.Equal(HttpStatusCode.OK, (await _host.Http.PostAsJsonAsync("/v1/models/m/versions/1/promote", new { stage = "Production" }, Json)).StatusCode);
        var refused = await _host.Http.PostAsJsonAsync("/v1/models/m/versions/2/promote",
            new { stage = "Production", policy = new { metric = "rank_ic", minImprovement = 0.05 } }, Json);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("does not exceed", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await _host.Http.PostAsJsonAsync("/v1/models/m/versions/3/promote", new { stage = "Production" }, Json)).StatusCode);

        var compare = await _host.Http.GetFromJsonAsync<JsonElement>("/v1/models/m/compare?a=1&b=champion", Json);
        Assert.Equal(0.02, compare.GetProperty("delta").GetProperty("rank_ic").GetDouble(), 9);

        var rollback = await _host.Http.PostAsync("/v1/models/m/rollback", null);
        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        var model = await _host.Http.GetFromJsonAsync<JsonElement>("/v1/models/m", Json);
        Assert.Equal(1, model.GetProperty("model").GetProperty("champion").GetInt32());

        Assert.Equal(HttpStatusCode.BadRequest, (await _host.Http.PostAsync("/v1/models/m/versions/1/archive", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _host.Http.PostAsync("/v1/models/m/versions/2/archive", null)).StatusCode);
        var versions = await _host.Http.GetFromJsonAsync<JsonElement>("/v1/models/m/versions", Json);
        Assert.Equal(["Production", "Archived", "Archived"], versions.EnumerateArray().Select(v => v.GetProperty("stage").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await _host.Http.GetAsync("/v1/models/unknown")).StatusCode);
    }
}

/// <summary>The XGBoost library fails to load (the real loader, pointed at a file that does not exist).</summary>
internal sealed class MissingXGBoostRuntime : Platform.Training.Runs.ICandidateRuntime
{
    public string? Unavailable(Platform.Modeling.Models.ModelSpec spec)
    {
        if (spec.Kind != Platform.Modeling.Models.ModelKinds.XGBoost) return null;
        try
        {
            Platform.Modeling.Models.XGBoost.XGBoostLibrary.Load(["/nonexistent/libxgboost.so.0"]);
            return null;
        }
        catch (Platform.Modeling.Models.ModelUnavailableException ex)
        {
            return ex.Message;
        }
    }
}

public sealed class TrainingUnavailableCandidateTests
{
    [Fact]
    public async Task TrainingRun_XGBoostLibraryMissing_RecordsItUnavailableAndRegistersAnotherCandidate()
    {
        var dir = Directory.CreateTempSubdirectory("training-unavailable-").FullName;
        await using (var host = await TrainingHost.StartAsync(dir, s => s.AddSingleton<Platform.Training.Runs.ICandidateRuntime, MissingXGBoostRuntime>()))
        {
            var response = await host.Http.PostAsJsonAsync("/v1/training-runs", TrainingApiTests.Request("no-xgb"), TrainingApiTests.Json);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var run = await TrainingApiTests.WaitAsync(host.Http, response.Headers.Location!.ToString(), TimeSpan.FromSeconds(90));
            Assert.Equal("completed", run.GetProperty("status").GetString());
            var outcome = run.GetProperty("outcome");
            var xgb = outcome.GetProperty("candidates").EnumerateArray().Single(c => c.GetProperty("spec").GetProperty("kind").GetString() == "xgboost");
            Assert.Contains("libxgboost0", xgb.GetProperty("unavailable").GetString());
            Assert.Equal(0, xgb.GetProperty("folds").GetArrayLength());
            Assert.StartsWith("ridge", outcome.GetProperty("winner").GetString());
            Assert.Equal(1, outcome.GetProperty("version").GetInt32());
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(dir, true); } catch (IOException) { }
    }
}

public sealed class TrainingResumeTests
{
    [Fact]
    [Trait("Category", "Slow")]
    public async Task TrainingRun_HostStoppedMidRun_ResumesWithoutDuplicateRegistration()
    {
        var dir = Directory.CreateTempSubdirectory("training-resume-").FullName;
        string location;
        await using (var first = await TrainingHost.StartAsync(dir))
        {
            var response = await first.Http.PostAsJsonAsync("/v1/training-runs", TrainingApiTests.Request("resume"), TrainingApiTests.Json);
            location = response.Headers.Location!.ToString();
            // Stop the process once at least the dataset and a baseline are checkpointed.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                var run = await first.Http.GetFromJsonAsync<JsonElement>(location, TrainingApiTests.Json);
                if (run.GetProperty("done").GetInt32() >= 2) break;
                await Task.Delay(50);
            }
        }
        await using (var second = await TrainingHost.StartAsync(dir))
        {
            var run = await TrainingApiTests.WaitAsync(second.Http, location, TimeSpan.FromSeconds(120));
            Assert.Equal("completed", run.GetProperty("status").GetString());
            var versions = await second.Http.GetFromJsonAsync<JsonElement>("/v1/models/resume/versions", TrainingApiTests.Json);
            Assert.Equal(1, versions.GetArrayLength());
            Assert.Equal(run.GetProperty("id").GetString(), versions[0].GetProperty("runId").GetString());
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(dir, true); } catch (IOException) { }
    }
}
