using System.CommandLine;
using Platform.Host;

// The platform's command line: `./platform <verb>`. Each verb is an IPlatformCommand in Commands/.
var root = new RootCommand("Market-prediction platform: run it, feed it data, train, serve and backtest.");
foreach (var command in PlatformCommands.All()) root.Add(command);
return await root.Parse(args).InvokeAsync();
