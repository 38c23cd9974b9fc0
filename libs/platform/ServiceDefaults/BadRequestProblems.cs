using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Platform.ServiceDefaults;

/// <summary>
/// Turns what the framework refused to bind (a body that is not JSON, a wrong type, a form without a boundary, a
/// truncated body, an unsupported Content-Type) into problem details at the status it chose (400, 413, 415). A JSON
/// body's problem is told in the request's own terms (the member, its path, line and byte), never with the .NET
/// type or parameter the framework would name. Anything else is left to the default handler: an unexpected error
/// stays a 500.
/// </summary>
public sealed partial class BadRequestProblems(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (exception is not BadHttpRequestException bad || context.Response.HasStarted) return false;
        var detail = bad.InnerException switch
        {
            JsonException json => DescribeJson(json),
            InvalidDataException data => $"The body could not be read: {data.Message}",
            _ => bad.Message,
        };
        context.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = bad.StatusCode, Title = "The request could not be read", Detail = detail },
        });
    }

    /// <summary>What is wrong with a JSON body, where: an unknown member, a value of the wrong type, or malformed JSON.</summary>
    public static string DescribeJson(JsonException json)
    {
        var where = json.Path is { Length: > 0 } path ? $" at {path}" : "";
        if (json.LineNumber is { } line) where += $" (line {line + 1}, byte {json.BytePositionInLine + 1})";
        var message = json.Message;
        if (UnmappedMember().Match(message) is { Success: true } unmapped)
            return $"The body has a member this request does not have: '{unmapped.Groups[1].Value}'{where}.";
        if (message.Contains("could not be converted", StringComparison.Ordinal))
            return $"The body has a value of the wrong type{where}.";
        if (message.Contains("missing required properties", StringComparison.Ordinal) && RequiredMembers().Match(message) is { Success: true } missing)
            return $"The body lacks required members: {missing.Groups[1].Value}{where}.";
        // The reader's own messages name bytes and tokens, not .NET types; keep their first sentence.
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal) is var i and > 0 ? message[..i]
            : message.IndexOf(" LineNumber:", StringComparison.Ordinal) is var j and > 0 ? message[..j] : message;
        return $"The body is not valid JSON{where}: {cut.TrimEnd('.', ' ', '|')}.";
    }

    [GeneratedRegex("The JSON property '(.+?)' could not be mapped")]
    private static partial Regex UnmappedMember();

    [GeneratedRegex("missing required properties including: (.+?)\\.?( Path:|$)")]
    private static partial Regex RequiredMembers();
}
