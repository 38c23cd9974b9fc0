using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Platform.Host;
using Xunit.Abstractions;

namespace Platform.Dashboard.Tests;

/// <summary>
/// The dashboard in Debian's Chromium against the embedded platform: sign-in, every page with its data and charts,
/// a backtest run from the form, promotion by scope, and the antiforgery check. Each page's screenshot goes to docs/images.
/// </summary>
[Trait("Category", "Slow")]
public sealed class DashboardTests(DashboardPlatform platform, ITestOutputHelper output) : IClassFixture<DashboardPlatform>
{
    private static readonly (int, int, int) UpCandle = (26, 127, 55);
    private static readonly (int, int, int) StrategyLine = (11, 92, 173);

    [Fact]
    public async Task SignIn_WrongKey_IsRefusedWithoutASession()
    {
        await using var context = await platform.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = platform.BaseUrl });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/dashboard/sign-in");
        await page.GetByLabel("API key or token").FillAsync("pk_0123456789abcdef_notarealsecret");
        var response = await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync(), r => r.Request.Method == "POST");

        Assert.Equal(401, response.Status);
        Assert.Contains("not valid", await page.GetByRole(AriaRole.Alert).InnerTextAsync());
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "platform.dashboard");
        var overview = await page.GotoAsync("/dashboard");
        Assert.Contains("/dashboard/sign-in", overview!.Url);
    }

    [Fact]
    public async Task SignIn_BearerTokenWithReadScopes_ShowsDataButNoWriteActions()
    {
        var token = DashboardPlatform.BearerToken("analyst", "market:read models:read");
        var (context, page) = await platform.SignInAsync(token);
        await using var _ = context;

        Assert.Contains("analyst (jwt)", await page.Locator("header.top").InnerTextAsync());
        Assert.Contains("needs backtests:write", await page.Locator("#health-title + table").InnerTextAsync());
        await page.GotoAsync($"/dashboard/models?model={DashboardPlatform.Model}");
        Assert.True(await page.Locator("#versions tbody tr").CountAsync() >= 2);
        Assert.Equal(0, await page.GetByText("Promote", new() { Exact = false }).CountAsync());
        await page.GotoAsync("/dashboard/market");
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { Name = "Import" }).CountAsync());
    }

    [Fact]
    public async Task Market_CsvImportedFromTheForm_ShowsTheRowReport()
    {
        var (context, page) = await platform.SignInAsync(platform.AdminKey, "/dashboard/market");
        await using var _ = context;
        var csv = "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,1000\n2024-01-03,10.5,12,10,11.5,1500\n2024-01-04,11.5,11.8,10.9,11,1200\n";
        await page.GetByLabel("File (date, open, high, low, close, volume)").SetInputFilesAsync(new FilePayload
        {
            Name = "three.csv", MimeType = "text/csv", Buffer = System.Text.Encoding.UTF8.GetBytes(csv),
        });
        await page.GetByLabel("Store as symbol").FillAsync("THREE");
        await page.GetByRole(AriaRole.Button, new() { Name = "Import" }).ClickAsync();

        var report = await page.Locator("#import-report").InnerTextAsync();
        Assert.Matches(new Regex(@"inserted\s+3"), report);
        Assert.Contains("THREE", await page.Locator("#chart-title").InnerTextAsync());
    }

    [Fact]
    public async Task Overview_SignedInWithKey_ShowsServicesUpChampionAndRuns()
    {
        var (context, page) = await platform.SignInAsync(platform.AdminKey);
        await using var _ = context;

        Assert.Equal(6, await page.Locator("#health-title + table .badge.up").CountAsync());
        Assert.Contains(DashboardPlatform.Model, await page.Locator("section[aria-labelledby=served-title] table").InnerTextAsync());
        Assert.Contains(DashboardPlatform.LongSymbol, await page.Locator("section[aria-labelledby=data-title] table").InnerTextAsync());
        Assert.Contains(DemoBootstrap.RunId, await page.Locator("section[aria-labelledby=runs-title] table").InnerTextAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = DashboardPlatform.Screenshot("dashboard-overview.png"), FullPage = true });
    }

    [Fact]
    public async Task Market_DemoSymbolWithPredictions_DrawsCandlesAndShowsPredictions()
    {
        var (context, page) = await platform.SignInAsync(platform.AdminKey,
            $"/dashboard/market?symbol={DashboardPlatform.DemoSymbol}&model={DashboardPlatform.Model}&sma=20&sma=50");
        await using var _ = context;
        await DashboardPlatform.WaitForDrawnAsync(page, "#market-chart", UpCandle, 200);

        Assert.True(await DashboardPlatform.CountPixelsAsync(page, "#market-chart", UpCandle) >= 200, "no candles drawn");
        Assert.Matches(new Regex(@"; [1-9]\d* predictions of return-h5"), await page.Locator("#chart-summary").InnerTextAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = DashboardPlatform.Screenshot("dashboard-market.png") });

        await page.SetViewportSizeAsync(390, 844);
        await page.ReloadAsync();
        await DashboardPlatform.WaitForDrawnAsync(page, "#market-chart", UpCandle, 100);
        Assert.True(await DashboardPlatform.CountPixelsAsync(page, "#market-chart", UpCandle) >= 100, "no candles drawn at phone width");
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at phone width");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = DashboardPlatform.Screenshot("dashboard-market-phone.png") });
    }

    [Fact]
    public async Task SignIn_KeyboardOnly_ReachesTheOverviewAndItsSkipLink()
    {
        await using var context = await platform.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = platform.BaseUrl });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/dashboard/sign-in");

        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("Skip to content", await page.EvaluateAsync<string>("() => document.activeElement.textContent"));
        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("credential", await page.EvaluateAsync<string>("() => document.activeElement.id"));
        await page.Keyboard.TypeAsync(platform.ViewerKey);
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync($"{platform.BaseUrl}/dashboard");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.PressAsync("Enter");

        Assert.Equal("main", await page.EvaluateAsync<string>("() => document.activeElement.id"));
    }

    [Theory]
    [InlineData("/dashboard")]
    [InlineData("/dashboard/market")]
    [InlineData("/dashboard/models")]
    [InlineData("/dashboard/backtests")]
    [InlineData("/dashboard/monitoring")]
    public async Task Page_EveryFormControl_HasALabel(string path)
    {
        var (context, page) = await platform.SignInAsync(platform.AdminKey);
        await using var _ = context;
        await page.GotoAsync(path);

        var unlabelled = await page.EvaluateAsync<string[]>(@"() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(c => c.labels.length === 0 && !c.getAttribute('aria-label') && !c.getAttribute('aria-labelledby'))
            .map(c => c.outerHTML)");
        Assert.Empty(unlabelled);
        Assert.True(await page.Locator("form, table, [data-chart]").CountAsync() > 0, "the page rendered nothing to check");
    }

    /// <summary>Measures (does not assert) the load of the Market page on the 20-year series: navigation to candles drawn.</summary>
    [Fact]
    public async Task Market_TwentyYearsOfDailyBars_DownsamplesAndDrawsCandles()
    {
        var (context, page) = await platform.SignInAsync(platform.AdminKey);
        await using var _ = context;
        var url = $"/dashboard/market?symbol={DashboardPlatform.LongSymbol}&interval=1d";
        await page.GotoAsync(url); // warm: first compilation of the page, connection pools
        var samples = new List<(double Drawn, double Load)>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            await page.GotoAsync(url);
            await DashboardPlatform.WaitForDrawnAsync(page, "#market-chart", UpCandle, 200);
            clock.Stop();
            var load = await page.EvaluateAsync<double>("() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; }");
            samples.Add((clock.Elapsed.TotalMilliseconds, load));
        }

        var summary = await page.Locator("#chart-summary").InnerTextAsync();
        Assert.StartsWith($"{platform.LongBars} bars, drawn as ", summary);
        Assert.True(platform.LongBars >= 4000, $"the long series has {platform.LongBars} bars");
        Assert.True(await DashboardPlatform.CountPixelsAsync(page, "#market-chart", UpCandle) >= 200, "no candles drawn");
        var drawn = samples.Select(s => s.Drawn).Order().ToList();
        var loads = samples.Select(s => s.Load).Order().ToList();
        var report = $"Market page, {platform.LongBars} daily bars ({platform.LongSource}): navigation to candles drawn median {drawn[2]:0} ms " +
            $"(min {drawn[0]:0}, max {drawn[^1]:0}); load event median {loads[2]:0} ms; {summary}; " +
            $"load average {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown")}, {Environment.ProcessorCount} cores";
        output.WriteLine(report);
        Console.WriteLine(report);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = DashboardPlatform.Screenshot("dashboard-market-20y.png") });
    }

    [Fact]
    public async Task Models_KeyWithoutModelsWrite_OffersNoPromoteOrRollback()
    {
        var (context, page) = await platform.SignInAsync(platform.ViewerKey, $"/dashboard/models?model={DashboardPlatform.Model}");
        await using var _ = context;

        Assert.True(await page.Locator("#versions tbody tr").CountAsync() >= 2);
        Assert.Equal(0, await page.GetByText("Promote", new() { Exact = false }).CountAsync());
        Assert.Equal(0, await page.GetByText("Roll back").CountAsync());
    }

    [Fact]
    public async Task Models_KeyWithModelsWrite_PromotesAfterConfirmationAndRollsBack()
    {
        var (context, page) = await platform.SignInAsync(platform.AdminKey);
        await using var _ = context;
        var before = await ChampionAsync();
        await page.GotoAsync($"/dashboard/models?model={DashboardPlatform.Model}");
        var other = before == 1 ? 2 : 1;

        await page.GetByRole(AriaRole.Link, new() { Name = $"Promote v{other}" }).ClickAsync();
        Assert.Equal(before, await ChampionAsync()); // nothing happens before the confirmation
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm promote" }).ClickAsync();
        await page.GetByText($"v{other} of {DashboardPlatform.Model} is now the champion.").WaitForAsync();
        Assert.Equal(other, await ChampionAsync());
        await page.GotoAsync($"/dashboard/models?model={DashboardPlatform.Model}&version={other}");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = DashboardPlatform.Screenshot("dashboard-models.png"), FullPage = true });

        await page.GetByRole(AriaRole.Link, new() { Name = "Roll back" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm rollback" }).ClickAsync();
        await page.GetByText("rolled back to its previous champion").WaitForAsync();
        Assert.Equal(before, await ChampionAsync());
    }

    [Fact]
    public async Task Post_WithoutAntiforgeryToken_IsRefusedWithProblemDetails()
    {
        var (context, page) = await platform.SignInAsync(platform.AdminKey);
        await using var _ = context;
        var before = await ChampionAsync();
        var other = before == 1 ? 2 : 1;

        var response = await context.APIRequest.PostAsync($"{platform.BaseUrl}/dashboard/models?handler=Promote", new APIRequestContextOptions
        {
            Form = context.APIRequest.CreateFormData().Set("model", DashboardPlatform.Model).Set("version", other.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        });

        Assert.Equal(400, response.Status);
        Assert.StartsWith("application/problem+json", response.Headers["content-type"]);
        using var problem = JsonDocument.Parse(await response.TextAsync());
        Assert.Contains("antiforgery", problem.RootElement.GetProperty("title").GetString());
        Assert.Equal(before, await ChampionAsync());
    }

    [Fact]
    public async Task Backtests_FormSubmitted_RunCompletesAndEquityCurveIsDrawn()
    {
        var (context, page) = await platform.SignInAsync(platform.ViewerKey, "/dashboard/backtests");
        await using var _ = context;
        await page.GetByLabel("Symbols (comma-separated)").FillAsync("ALPHA, BRAVO");
        await page.GetByLabel("Strategy", new() { Exact = true }).SelectOptionAsync("sma-cross");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = DashboardPlatform.Screenshot("dashboard-backtest-form.png") });
        await page.GetByRole(AriaRole.Button, new() { Name = "Run backtest" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/dashboard/backtests/bt-[0-9a-f]+$"));

        // The page follows the run over server-sent events and reloads with the report when it has completed.
        await page.Locator("#equity-chart").WaitForAsync(new LocatorWaitForOptions { Timeout = 300_000 });
        await DashboardPlatform.WaitForDrawnAsync(page, "#equity-chart", StrategyLine, 100);

        Assert.Equal("completed", await page.Locator("#bt-status").InnerTextAsync());
        Assert.True(await DashboardPlatform.CountPixelsAsync(page, "#equity-chart", StrategyLine) >= 100, "no equity curve drawn");
        Assert.True(await page.Locator("#statistics tbody tr").CountAsync() > 10);
        Assert.Contains("sharpe", (await page.Locator("#statistics").InnerTextAsync()).ToLowerInvariant());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = DashboardPlatform.Screenshot("dashboard-backtest.png") });
    }

    [Fact]
    public async Task Monitoring_JoinedPredictions_ShowsQualityTableAndDrawsQualityOverTime()
    {
        var (context, page) = await platform.SignInAsync(platform.ViewerKey, $"/dashboard/monitoring?model={DashboardPlatform.Model}");
        await using var _ = context;
        await DashboardPlatform.WaitForDrawnAsync(page, "#quality-chart", UpCandle, 50);

        Assert.True(await page.Locator("#quality tbody tr").CountAsync() >= 1);
        Assert.True(await DashboardPlatform.CountPixelsAsync(page, "#quality-chart", UpCandle) >= 50, "no hit-rate line drawn");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = DashboardPlatform.Screenshot("dashboard-monitoring.png"), FullPage = true });
    }

    private async Task<int> ChampionAsync()
    {
        using var model = JsonDocument.Parse(await platform.Api.GetStringAsync($"/v1/models/{DashboardPlatform.Model}"));
        return model.RootElement.GetProperty("model").GetProperty("champion").GetInt32();
    }
}
