using System.Diagnostics;

namespace Platform.Deployment.Tests.Infrastructure;

public sealed record ToolResult(int ExitCode, string Output, string Error)
{
    public string Describe() => $"exit {ExitCode}\n{Output}\n{Error}";
}

/// <summary>Runs a command-line tool (kubectl, node, yamllint) and captures what it prints.</summary>
public static class Tool
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public static ToolResult Run(string fileName, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory ?? Repository.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)
            ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) error.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', start.ArgumentList)} ran longer than {Timeout}.");
        }

        process.WaitForExit();
        return new ToolResult(process.ExitCode, output.ToString(), error.ToString());
    }

    public static string Kustomize(string directory)
    {
        var result = Run("kubectl", ["kustomize", directory]);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"kubectl kustomize {directory} failed: {result.Describe()}");
        }

        return result.Output;
    }
}
