using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Platform.Gateway.Identity;
using Platform.Host;
using Platform.TestSupport;
using Platform.Workflows;

namespace Platform.Dashboard.Tests;

/// <summary>
/// One embedded platform for the dashboard's browser tests, prepared through its public API as a user would: the demo
/// universe and its trained champion, a second version registered without promotion, a 20-year daily series imported
/// from a CSV, predictions at past bar times joined with their outcomes by a replayed bar; and Debian's Chromium driven
/// by Playwright. Two keys: an administrator's (every scope) and a viewer's (no <c>models:write</c>, no <c>market:write</c>).
/// </summary>
public sealed class DashboardPlatform : IAsyncLifetime
{
    public const string Model = DemoBootstrap.ModelName;
    public const string LongSymbol = "LONG20Y";
    public const string DemoSymbol = "ALPHA";
    private const string ChromiumPath = "/usr/bin/chromium";
    private const string SharedSeries = "../shared/data/market/orcl-daily.csv";

    public const string JwtSigningKey = "dashboard-tests-signing-key-of-at-least-32-bytes";

    private string _dataDir = "";
    private IPlaywright? _playwright;

    public EmbeddedPlatform Platform { get; private set; } = null!;
    public string AdminKey { get; private set; } = "";
    public string ViewerKey { get; private set; } = "";
    public HttpClient Api { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string BaseUrl => Platform.GatewayUrl.TrimEnd('/');
    /// <summary>Bars of <see cref="LongSymbol"/> and where they came from.</summary>
    public int LongBars { get; private set; }
    public string LongSource { get; private set; } = "";
    public int JoinedPredictions { get; private set; }

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: scripts/prerequisites.sh test installs Debian's chromium.");
        _dataDir = Directory.CreateTempSubdirectory("dashboard-").FullName;
        Platform = await EmbeddedPlatform.StartAsync(new EmbeddedPlatformOptions
        {
            DataDir = _dataDir, GatewayUrl = "http://127.0.0.1:0", EphemeralServicePorts = true,
            // Drift on the test's predictions must not retrain and replace the champion the model tests act on.
            Settings = new Dictionary<string, string?>
            {
                ["Training:Retraining:Enabled"] = "false",
                ["Gateway:Jwt:SigningKey"] = JwtSigningKey, ["Gateway:Jwt:Issuer"] = "platform", ["Gateway:Jwt:Audience"] = "platform-api",
            },
        });
        var gateway = Platform.Services("gateway");
        AdminKey = await DevelopmentKey.EnsureAsync(gateway) ?? throw new InvalidOperationException("No development key on a fresh data directory.");
        var keys = gateway.GetRequiredService<ApiKeyService>();
        ViewerKey = (await keys.CreateAsync("viewer", "premium",
            [Scopes.MarketRead, Scopes.FeaturesRead, Scopes.ModelsRead, Scopes.BacktestsWrite], "dashboard-tests")).Token;
        Api = new HttpClient { BaseAddress = new Uri(Platform.GatewayUrl), Timeout = TimeSpan.FromMinutes(2) };
        Api.DefaultRequestHeaders.Add(GatewaySchemes.ApiKeyHeader, AdminKey);

        var training = Platform.Services("training").GetRequiredService<WorkflowClient>();
        var demo = await DemoBootstrap.StartAsync(Platform, TimeSpan.FromMinutes(2), CancellationToken.None)
            ?? throw new InvalidOperationException("The demo universe was not seeded.");
        await WaitAsync(training, demo);

        using (var second = await Api.PostAsJsonAsync("/v1/training-runs", new
        {
            symbols = new[] { "ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO" }, target = "return", horizon = 5, model = Model,
            candidates = new[] { new { kind = "ridge", parameters = new Dictionary<string, string> { ["alpha"] = "10" } } }, promote = false,
        }))
        {
            var body = await second.Content.ReadAsStringAsync();
            Assert.True(second.IsSuccessStatusCode, $"second training run: {(int)second.StatusCode} {body}");
            await WaitAsync(training, JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!);
        }

        await ImportLongSeriesAsync();
        await Eventually.UntilAsync(async () => (await Api.GetStringAsync("/v1/serving/models")).Contains(Model), $"{Model} to be served", TimeSpan.FromMinutes(2));
        await PredictAndJoinAsync();

        _playwright = await Playwright.CreateAsync();
        // Playwright gives every launch a fresh, temporary user-data-dir; the flags keep Chromium off the network.
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });
    }

    private static async Task WaitAsync(WorkflowClient workflows, string id)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var state = await workflows.WaitForWorkflowCompletionAsync(id, cancellation: bound.Token);
        Assert.True(state.RuntimeStatus == WorkflowRuntimeStatus.Completed, $"training run {id} ended {state.RuntimeStatus}: {state.FailureDetails?.ErrorMessage}");
    }

    /// <summary>
    /// Twenty years of daily bars: the real ORCL series beside the project when it is there (read at test time, never
    /// copied), otherwise a generated random walk of the same length.
    /// </summary>
    private async Task ImportLongSeriesAsync()
    {
        var shared = Path.Combine(RepositoryRoot(), SharedSeries);
        string content;
        if (File.Exists(shared))
        {
            content = await File.ReadAllTextAsync(shared);
            LongSource = "ORCL daily bars 1995-2014 (../shared/data)";
        }
        else
        {
            content = RandomWalk(new DateOnly(1995, 1, 2), 20 * 252);
            LongSource = "a generated 20-year random walk";
        }
        using var import = await Api.PostAsJsonAsync("/v1/market/imports", new { symbol = LongSymbol, content, interval = "1d" });
        var report = await import.Content.ReadAsStringAsync();
        Assert.True(import.IsSuccessStatusCode, $"import: {(int)import.StatusCode} {report}");
        LongBars = JsonDocument.Parse(report).RootElement.GetProperty("inserted").GetInt32();
    }

    private static string RandomWalk(DateOnly start, int bars)
    {
        var random = new Random(20);
        var csv = new StringBuilder("Date,Open,High,Low,Close,Volume\n");
        var price = 50.0;
        for (var (day, n) = (start, 0); n < bars; day = day.AddDays(1))
        {
            if (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday) continue;
            var open = price;
            price *= Math.Exp(0.0003 + 0.02 * (random.NextDouble() - 0.5) * 3.4);
            var high = Math.Max(open, price) * (1 + 0.01 * random.NextDouble());
            var low = Math.Min(open, price) * (1 - 0.01 * random.NextDouble());
            csv.Append(CultureInfo.InvariantCulture, $"{day:yyyy-MM-dd},{open:0.####},{high:0.####},{low:0.####},{price:0.####},{random.Next(100_000, 2_000_000)}\n");
            n++;
        }
        return csv.ToString();
    }

    /// <summary>
    /// Predictions of the champion at 60 past bar times of <see cref="DemoSymbol"/> (with the symbol's latest feature
    /// vector supplied), then one stored bar replayed, so monitoring joins their realised outcomes.
    /// </summary>
    private async Task PredictAndJoinAsync()
    {
        using var latest = JsonDocument.Parse(await Api.GetStringAsync($"/v1/features/{DemoSymbol}/latest?interval=1d"));
        var values = latest.RootElement.GetProperty("values").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0.0).ToArray();
        using var bars = JsonDocument.Parse(await Api.GetStringAsync($"/v1/market/{DemoSymbol}/bars?interval=1d&limit=10000"));
        var times = bars.RootElement.GetProperty("bars").EnumerateArray().Select(b => b.GetProperty("time").GetDateTimeOffset()).ToList();
        foreach (var time in times.Skip(times.Count - 80).Take(60))
        {
            using var answer = await Api.PostAsJsonAsync("/v1/predictions", new { model = Model, symbol = DemoSymbol, features = values, time });
            Assert.True(answer.IsSuccessStatusCode, $"prediction at {time}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
        }
        using var replay = await Api.PostAsJsonAsync("/v1/market/replays", new { symbol = DemoSymbol, interval = "1d", from = times[^1], to = times[^1].AddDays(1) });
        Assert.True(replay.IsSuccessStatusCode, $"replay: {(int)replay.StatusCode} {await replay.Content.ReadAsStringAsync()}");
        await Eventually.UntilAsync(async () =>
        {
            using var quality = JsonDocument.Parse(await Api.GetStringAsync($"/v1/monitoring/models/{Model}/quality"));
            JoinedPredictions = quality.RootElement.GetProperty("outcomes").GetInt32();
            return JoinedPredictions >= 40;
        }, "outcomes of the test's predictions to be joined", TimeSpan.FromMinutes(2));
    }

    /// <summary>A bearer token this gateway accepts, with the given space-separated scopes, valid for an hour.</summary>
    public static string BearerToken(string subject, string scopes) =>
        new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = "platform", Audience = "platform-api", Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["scope"] = scopes },
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(JwtSigningKey)),
                Microsoft.IdentityModel.Tokens.SecurityAlgorithms.HmacSha256),
        });

    /// <summary>A signed-in browser context (1280x800 unless told).</summary>
    /// <summary>A new browser context signed in with <paramref name="credential"/>, on <paramref name="path"/> when one is given.</summary>
    public async Task<(IBrowserContext Context, IPage Page)> SignInAsync(string credential, string? path = null, int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = BaseUrl, ViewportSize = new ViewportSize { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/dashboard/sign-in");
        await page.GetByLabel("API key or token").FillAsync(credential);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync($"{BaseUrl}/dashboard");
        if (path is not null) await page.GotoAsync(path);
        return (context, page);
    }

    /// <summary>Pixels of the chart's canvases within <paramref name="tolerance"/> of a colour: proof that series were drawn.</summary>
    public static Task<int> CountPixelsAsync(IPage page, string chart, (int R, int G, int B) colour, int tolerance = 24) =>
        page.EvaluateAsync<int>(@"([selector, r, g, b, tol]) => {
            let n = 0;
            for (const canvas of document.querySelectorAll(selector + ' canvas')) {
                const ctx = canvas.getContext('2d');
                if (!ctx || canvas.width === 0 || canvas.height === 0) continue;
                const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
                for (let i = 0; i < d.length; i += 4)
                    if (d[i + 3] > 0 && Math.abs(d[i] - r) <= tol && Math.abs(d[i + 1] - g) <= tol && Math.abs(d[i + 2] - b) <= tol) n++;
            }
            return n;
        }", new object[] { chart, colour.R, colour.G, colour.B, tolerance });

    /// <summary>Waits until the chart shows at least <paramref name="pixels"/> pixels of the colour (the library draws on an animation frame).</summary>
    public static async Task WaitForDrawnAsync(IPage page, string chart, (int R, int G, int B) colour, int pixels, float timeoutMs = 30_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (await CountPixelsAsync(page, chart, colour) < pixels && DateTime.UtcNow < deadline)
            await page.WaitForTimeoutAsync(50);
    }

    public static string Screenshot(string name) => Path.Combine(RepositoryRoot(), "docs", "images", name);

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Platform.sln"))) return dir.FullName;
        throw new InvalidOperationException("Platform.sln not found above the test's binaries.");
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        Api?.Dispose();
        if (Platform is not null) await Platform.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, true); } catch (IOException) { }
    }
}
