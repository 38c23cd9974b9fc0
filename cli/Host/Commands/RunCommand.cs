using System.CommandLine;
using System.Runtime.InteropServices;
using Platform.Gateway.Identity;
using Spectre.Console;

namespace Platform.Host.Commands;

/// <summary><c>./platform run</c>: every service in one process on the embedded runtime, the gateway public.</summary>
public sealed class RunCommand : IPlatformCommand
{
    public Command Create()
    {
        var dataDir = PlatformCommands.DataDirOption();
        var urls = new Option<string>("--urls")
        {
            Description = "The gateway's public address.",
            DefaultValueFactory = _ => "http://127.0.0.1:8080",
        };
        var noDemo = new Option<bool>("--no-demo")
        {
            Description = "Do not seed the synthetic demo universe (nor train the initial demo model).",
        };
        var freePorts = new Option<bool>("--free-ports")
        {
            Description = "Give the internal services free loopback ports instead of 5101-5106 (a second instance beside the first).",
        };
        var command = new Command("run", "Start the platform on the embedded runtime (no Dapr needed).") { dataDir, urls, noDemo, freePorts };
        command.SetAction(async (parse, ct) =>
        {
            var options = new EmbeddedPlatformOptions
            {
                DataDir = parse.GetValue(dataDir)!.FullName,
                GatewayUrl = parse.GetValue(urls)!,
                EphemeralServicePorts = parse.GetValue(freePorts),
                Settings = parse.GetValue(noDemo)
                    ? new Dictionary<string, string?> { ["MarketData:Demo:Enabled"] = "false" }
                    : new Dictionary<string, string?>(),
            };
            await using var platform = await EmbeddedPlatform.StartAsync(options, ct);
            AnsiConsole.MarkupLine($"[green]Platform running[/] on the embedded runtime. Data: [blue]{Markup.Escape(platform.DataDir)}[/]");
            AnsiConsole.MarkupLine($"Gateway: [bold]{Markup.Escape(platform.GatewayUrl)}[/]  (health: {Markup.Escape(platform.GatewayUrl)}/health/ready)");
            foreach (var (app, url) in platform.ServiceUrls.Where(s => s.Key != "gateway"))
                AnsiConsole.MarkupLine($"  {app,-12} {Markup.Escape(url)} (loopback only; answers the gateway, which presents this run's app token)");
            var devKey = await DevelopmentKey.EnsureAsync(platform.Services("gateway"), ct);
            if (devKey is not null)
            {
                AnsiConsole.MarkupLine("Development API key (every scope; shown once, send it as [bold]X-Api-Key[/]):");
                Console.WriteLine(devKey);
            }
            else
            {
                AnsiConsole.MarkupLine("API keys: create one with [bold]./platform keys create --name NAME[/] (--scopes, --tier).");
            }
            AnsiConsole.MarkupLine("Press Ctrl+C to stop.");
            _ = Task.Run(async () =>
            {
                try
                {
                    if (await DemoBootstrap.StartAsync(platform, TimeSpan.FromMinutes(2), ct) is { } run)
                        AnsiConsole.MarkupLine($"Demo model [bold]{DemoBootstrap.ModelName}[/]: training run [blue]{run}[/] (GET /v1/training-runs/{run}); serving picks it up when promoted.");
                }
                catch (OperationCanceledException) { }
                catch (Exception ex)
                {
                    AnsiConsole.MarkupLine($"[yellow]Demo model not started:[/] {Markup.Escape(ex.Message)}");
                }
            }, CancellationToken.None);
            await WaitForShutdownAsync(ct);
            AnsiConsole.MarkupLine("Stopping...");
            return 0;
        });
        return command;
    }

    private static async Task WaitForShutdownAsync(CancellationToken ct)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        using var registration = ct.Register(() => stop.TrySetResult());
        await stop.Task;
    }
}
