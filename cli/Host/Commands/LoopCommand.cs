using System.CommandLine;
using Platform.Host.Loop;
using Spectre.Console;

namespace Platform.Host.Commands;

/// <summary>
/// <c>./platform loop</c>: the closed loop to watch, on a synthetic market whose volatility changes regime at a known bar
/// (<see cref="RegimeChangeLoop"/>): serve, predict as bars close, join outcomes, detect drift, retrain, promote.
/// </summary>
public sealed class LoopCommand : IPlatformCommand
{
    public Command Create()
    {
        var dataDir = new Option<DirectoryInfo?>("--data-dir")
        {
            Description = "An empty or new directory for the run's data (default: a new directory under .loop/).",
        };
        var urls = new Option<string>("--urls")
        {
            Description = "The gateway's public address while the loop runs.",
            DefaultValueFactory = _ => "http://127.0.0.1:8080",
        };
        var speed = new Option<double>("--bars-per-second")
        {
            Description = "Bars closed per second after the first champion is served (0: as fast as possible).",
            DefaultValueFactory = _ => 25,
        };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the synthetic market.", DefaultValueFactory = _ => 7 };
        var command = new Command("loop", "Watch the closed loop: a regime change at a known bar drives drift, retraining and a new champion.")
        {
            dataDir, urls, speed, seed,
        };
        command.SetAction(async (parse, ct) =>
        {
            var dir = parse.GetValue(dataDir)?.FullName ?? Path.GetFullPath(Path.Combine(".loop", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")));
            if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            {
                Console.Error.WriteLine($"loop: {dir} is not empty; the loop starts from an empty platform (give a new --data-dir).");
                return 2;
            }
            await using var platform = await EmbeddedPlatform.StartAsync(new EmbeddedPlatformOptions
            {
                DataDir = dir,
                GatewayUrl = parse.GetValue(urls)!,
                EphemeralServicePorts = true,
                Settings = RegimeChangeLoop.Settings,
            }, ct);
            AnsiConsole.MarkupLine($"Platform on the embedded runtime. Data: [blue]{Markup.Escape(dir)}[/]; gateway {Markup.Escape(platform.GatewayUrl)}");
            var options = new RegimeChangeLoopOptions { BarsPerSecond = parse.GetValue(speed), Seed = parse.GetValue(seed) };
            var loop = new RegimeChangeLoop(platform, options,
                p => AnsiConsole.MarkupLine($"[bold]{Markup.Escape(p.Step),-10}[/] {Markup.Escape(p.Detail)}"));
            LoopResult result;
            try
            {
                result = await loop.RunAsync(ct);
            }
            catch (InvalidOperationException ex)
            {
                Console.Error.WriteLine($"loop: {ex.Message}");
                return 1;
            }
            AnsiConsole.MarkupLine($"{result.Predictions} predictions made as bars closed, {result.Outcomes} joined with their outcome; " +
                $"first drift at bar {result.FirstDriftBar?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}; serving {options.Model} v{result.ServedVersion}.");
            AnsiConsole.MarkupLine(result.ClosedTheLoop
                ? "[green]The loop closed:[/] the retrained challenger beat the champion after the change and is served."
                : "[yellow]The loop did not close[/] (see the retraining decision above).");
            return result.ClosedTheLoop ? 0 : 1;
        });
        return command;
    }
}
