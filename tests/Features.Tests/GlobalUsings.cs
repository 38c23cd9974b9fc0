// Namespaces most files of this suite use.
global using System.Diagnostics;
global using System.Globalization;
global using System.Net;
global using System.Net.Http.Json;
global using System.Text.Json;
global using Xunit.Abstractions;
global using Platform.Contracts;
