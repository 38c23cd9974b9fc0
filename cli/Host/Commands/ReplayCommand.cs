using System.CommandLine;
using System.Globalization;
using Platform.MarketData.Replay;
using Spectre.Console;

namespace Platform.Host.Commands;

/// <summary><c>./platform replay</c>: feeds a file or a stored range through the platform as BarClosed events.</summary>
public sealed class ReplayCommand : IPlatformCommand
{
    public Command Create()
    {
        var path = new Argument<FileInfo?>("path") { Description = "A bar file to replay (omit to replay stored bars).", Arity = ArgumentArity.ZeroOrOne };
        var symbol = new Option<string?>("--symbol") { Description = "Symbol of the file's bars, or the one stored symbol to replay." };
        var symbols = new Option<string?>("--symbols") { Description = "Stored symbols to replay, comma-separated (default: every symbol at the interval)." };
        var interval = new Option<string>("--interval") { Description = "Bar interval.", DefaultValueFactory = _ => "1d" };
        var from = new Option<string?>("--from") { Description = "First bar time (inclusive), e.g. 2024-01-01." };
        var to = new Option<string?>("--to") { Description = "End time (exclusive)." };
        var speed = new Option<string>("--speed") { Description = "max (as fast as possible), realtime, or a multiple such as 60x.", DefaultValueFactory = _ => "max" };
        var id = new Option<string?>("--id") { Description = "Replay id; give an unfinished replay's id to resume it from its checkpoint." };
        var dataDir = PlatformCommands.DataDirOption();
        var command = new Command("replay", "Replay bars as if live (stored and published as BarClosed, resumable).")
        {
            path, symbol, symbols, interval, from, to, speed, id, dataDir,
        };
        command.SetAction(async (parse, ct) =>
        {
            var request = new ReplayRequest(parse.GetValue(path)?.FullName, parse.GetValue(symbol),
                parse.GetValue(symbols)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                parse.GetValue(interval), Time(parse.GetValue(from)), Time(parse.GetValue(to)), parse.GetValue(speed), parse.GetValue(id));
            await using var cli = await MarketDataCli.OpenAsync(parse.GetValue(dataDir)!.FullName, ct);
            var replays = cli.Get<ReplayService>();
            ReplayState state;
            try
            {
                state = await replays.StartAsync(request, ct);
            }
            catch (ReplayRequestException ex)
            {
                Console.Error.WriteLine($"replay: {ex.Message}");
                return 2;
            }
            if (state.Status != ReplayStatus.Running)
            {
                Console.WriteLine($"Replay {state.Id} is already {state.Status} ({state.Published} bars).");
                return state.Status == ReplayStatus.Failed ? 1 : 0;
            }
            Console.WriteLine($"Replay {state.Id} (resume with --id {state.Id})");
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var relay = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    await cli.DrainOutboxAsync(CancellationToken.None);
                    try { await Task.Delay(100, stop.Token); } catch (OperationCanceledException) { }
                }
            }, CancellationToken.None);
            await AnsiConsole.Progress().AutoClear(false).StartAsync(async context =>
            {
                var task = context.AddTask($"Replay {state.Id}", maxValue: 1);
                var done = replays.WaitAsync(state.Id);
                while (!done.IsCompleted)
                {
                    await Task.WhenAny(done, Task.Delay(250, CancellationToken.None));
                    if (await replays.GetAsync(state.Id, CancellationToken.None) is { } s)
                    {
                        task.MaxValue = Math.Max(1, s.Total);
                        task.Value = s.Published;
                    }
                    if (ct.IsCancellationRequested) await replays.StopAllAsync();
                }
            });
            await stop.CancelAsync();
            await relay;
            var events = await cli.DrainOutboxAsync(CancellationToken.None);
            var final = await replays.GetAsync(state.Id, CancellationToken.None);
            Console.WriteLine($"Replay {state.Id}: {final?.Status}, {final?.Published} of {final?.Total} bars{(final?.Error is { } e ? ": " + e : "")}");
            return final?.Status == ReplayStatus.Completed ? 0 : 1;
        });
        return command;
    }

    private static DateTimeOffset? Time(string? text) =>
        text is null ? null : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
