using System.CommandLine;
using System.Runtime.InteropServices;
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
        var command = new Command("run", "Start the platform on the embedded runtime (no Dapr needed).") { dataDir, urls };
        command.SetAction(async (parse, ct) =>
        {
            var options = new EmbeddedPlatformOptions
            {
                DataDir = parse.GetValue(dataDir)!.FullName,
                GatewayUrl = parse.GetValue(urls)!,
            };
            await using var platform = await EmbeddedPlatform.StartAsync(options, ct);
            AnsiConsole.MarkupLine($"[green]Platform running[/] on the embedded runtime. Data: [blue]{Markup.Escape(platform.DataDir)}[/]");
            AnsiConsole.MarkupLine($"Gateway: [bold]{Markup.Escape(platform.GatewayUrl)}[/]  (health: {Markup.Escape(platform.GatewayUrl)}/health/ready)");
            foreach (var (app, url) in platform.ServiceUrls.Where(s => s.Key != "gateway"))
                AnsiConsole.MarkupLine($"  {app,-12} {Markup.Escape(url)} (loopback only)");
            AnsiConsole.MarkupLine("Press Ctrl+C to stop.");
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
