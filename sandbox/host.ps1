# Runbooker PowerShell host (Windows PowerShell 5.1 and PowerShell 7).
# Runs one runbook with its parameters splatted from JSON and writes every
# record it produces to stdout as a frame line: 0x1E "RB:" {"t","text","value","more"}.
# Frames are pure ASCII (everything else is \u-escaped), so the console
# encoding cannot garble them.
#
# Host variables are prefixed with rb; the runbook runs in a child scope of
# this script and sees them. There is deliberately no $ErrorActionPreference
# here: one in this scope would hide the global one a module sets (as
# RealmJoin.RunbookHelper sets $Global:ErrorActionPreference = 'Stop').
param([string]$ScriptPath, [string]$ParamsPath)

# Policies under which the host or the runbook cannot run are reported
# first, and only with what ConstrainedLanguage mode allows (no .NET calls):
# an Exception frame on stdout, then exit 1.
function Stop-RbPolicy([string]$Message) {
    $rbText = $Message.Replace('\', '\\').Replace('"', '\"')
    Write-Output ([string][char]0x1e + 'RB:{"t":"Exception","text":"' + $rbText + '"}')
    exit 1
}
# AppLocker and WDAC run the scripts their rules do not trust (such as a
# copy in %TEMP%) in ConstrainedLanguage mode, where the host cannot work.
$rbMode = [string]$ExecutionContext.SessionState.LanguageMode
if ($rbMode -ne 'FullLanguage') {
    Stop-RbPolicy ('PowerShell runs the Runbooker host script ' + $PSCommandPath + ' in ' + $rbMode + ' mode, in which it cannot work: ' +
        'AppLocker or Windows Defender Application Control (WDAC) allows full PowerShell only to the scripts its rules trust. ' +
        'Install the host script where they do (runbooker worker host-script "C:\Program Files\Runbooker\rbhost.ps1", signed with ' +
        'Set-AuthenticodeSignature if the rules name a publisher) and start the worker with --host-script naming it.')
}
# An execution policy set by Group Policy overrides -ExecutionPolicy
# Bypass. The host marks the runbook (see Add-RbMarks), so the runbook is
# never a signed script: AllSigned and Restricted refuse it.
foreach ($rbScope in 'MachinePolicy', 'UserPolicy') {
    $rbPolicy = ''
    try { $rbPolicy = [string](Get-ExecutionPolicy -Scope $rbScope) } catch { }
    if ($rbPolicy -eq 'AllSigned' -or $rbPolicy -eq 'Restricted') {
        Stop-RbPolicy ('Group Policy sets the PowerShell execution policy to ' + $rbPolicy + ' (scope ' + $rbScope + '), which overrides ' +
            'the worker''s -ExecutionPolicy Bypass: PowerShell would refuse the runbook, which is not a signed script. Set the policy ' +
            'to RemoteSigned or Unrestricted for this computer (Computer Configuration > Administrative Templates > Windows Components > ' +
            'Windows PowerShell > Turn on Script Execution), or run the worker where the policy does not apply.')
    }
}

try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
if ($PSVersionTable.PSVersion.Major -ge 7) { try { $PSStyle.OutputRendering = 'PlainText' } catch { } }
# Loaded now, so that loading them later (with verbose records on) logs nothing.
Import-Module Microsoft.PowerShell.Management, Microsoft.PowerShell.Utility -ErrorAction SilentlyContinue
# On PowerShell 7, System.Text.Json reads JSON without turning strings into
# dates, and escapes text to ASCII far faster than a regex callback per
# character (which Windows PowerShell has to use).
$rbStj = $false
$rbJsonOptions = $null
if ($PSVersionTable.PSVersion.Major -ge 7) {
    try {
        Add-Type -AssemblyName System.Text.Json, System.Text.Encodings.Web
        $rbStj = $true
        $rbJsonOptions = [System.Text.Json.JsonSerializerOptions]::new()
        $rbJsonOptions.Encoder = [System.Text.Encodings.Web.JavaScriptEncoder]::Default # everything but ASCII is escaped
    } catch { $rbJsonOptions = $null }
}
$rbFormat = New-Object System.Collections.ArrayList # Format-Table/-List output being collected
$rbState = @{ LastError = $null }
$rbMaxPiece = 512KB # characters of text per frame: at most 3 MiB once escaped
$rbMaxValue = 4MB   # bytes of value JSON per record; a bigger value is left out

function ConvertTo-RbAscii([string]$s) {
    [regex]::Replace($s, '[\u007f-\uffff]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
}

function ConvertTo-RbJsonString($s) {
    if ($null -eq $s) { return 'null' }
    if ($rbJsonOptions) { return [System.Text.Json.JsonSerializer]::Serialize([string]$s, [string], $rbJsonOptions) }
    $e = ([string]$s).Replace('\', '\\').Replace('"', '\"')
    $e = [regex]::Replace($e, '[\u0000-\u001f]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
    '"' + (ConvertTo-RbAscii $e) + '"'
}

# Write-RbFrame writes one record. A long text goes out in pieces marked
# "more", which the worker joins again; the value rides on the last piece.
function Write-RbFrame([string]$Type, $Text, [string]$ValueJson) {
    $head = [string][char]0x1e + 'RB:{"t":"' + $Type + '","text":'
    $value = ''
    if ($ValueJson) {
        $value = ConvertTo-RbAscii $ValueJson
        if ($value.Length -gt $rbMaxValue) {
            Write-RbFrame 'Warning' ('The value of an output record (' + $value.Length + ' bytes of JSON) is over the limit of ' +
                $rbMaxValue + ' bytes and was left out; its text is kept.')
            $value = ''
        }
        if ($value) { $value = ',"value":' + $value }
    }
    if ($null -eq $Text) { [Console]::Out.WriteLine($head + 'null' + $value + '}'); return }
    $s = [string]$Text
    $i = 0
    do {
        $n = [Math]::Min($rbMaxPiece, $s.Length - $i)
        if ($i + $n -lt $s.Length -and [char]::IsHighSurrogate($s[$i + $n - 1])) { $n-- } # keep pairs whole
        $piece = $s.Substring($i, $n)
        $line = $head + (ConvertTo-RbJsonString $piece)
        $i += $n
        if ($i -lt $s.Length) { $line += ',"more":true}' } else { $line += $value + '}' }
        [Console]::Out.WriteLine($line)
    } while ($i -lt $s.Length)
}

# Windows PowerShell writes dates as "\/Date(ms)\/" (or, for Get-Date's
# output, an object around that); PowerShell 7 writes ISO 8601. Both become
# ISO 8601 (UTC, milliseconds) here.
function Repair-RbJsonDates([string]$Json) {
    [regex]::Replace($Json, '\{"value":"\\/Date\((-?\d+)\)\\/"(?:,"(?:DisplayHint|DateTime)":(?:-?\d+|"(?:[^"\\]|\\.)*"))*\}|"\\/Date\((-?\d+)\)\\/"', {
            param($m)
            $ms = $m.Groups[1].Value
            if (-not $m.Groups[1].Success) { $ms = $m.Groups[2].Value }
            $t = (New-Object DateTime 1970, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc)).AddMilliseconds([double]$ms)
            '"' + $t.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", [Globalization.CultureInfo]::InvariantCulture) + '"'
        })
}

function ConvertTo-RbJson($o, [int]$Depth = 5) {
    if ($o -is [datetime] -or $o -is [datetimeoffset]) { return '"' + $o.ToString('o', [Globalization.CultureInfo]::InvariantCulture) + '"' }
    if ($PSVersionTable.PSVersion.Major -ge 7) {
        return ConvertTo-Json -InputObject $o -Depth $Depth -Compress -EscapeHandling EscapeNonAscii -WarningAction SilentlyContinue -ErrorAction Stop
    }
    $j = ConvertTo-Json -InputObject $o -Depth $Depth -Compress -WarningAction SilentlyContinue -ErrorAction Stop
    if ($PSVersionTable.PSVersion.Major -lt 6) { $j = Repair-RbJsonDates $j }
    $j
}

function ConvertTo-RbValue($o) {
    try { ConvertTo-RbJson $o } catch { $null }
}

# ConvertFrom-RbJson reads JSON the same way on 5.1 and 7: strings stay
# strings (PowerShell 7's ConvertFrom-Json turns date-like ones into
# DateTime) and arrays stay arrays, one-element ones included. Objects
# become PSCustomObjects, or hashtables with -AsHashtable.
function ConvertFrom-RbJson([string]$Json, [switch]$AsHashtable) {
    if ($rbStj) {
        $doc = [System.Text.Json.JsonDocument]::Parse($Json, (New-Object System.Text.Json.JsonDocumentOptions))
        try { $v = ConvertFrom-RbJsonElement $doc.RootElement $AsHashtable.IsPresent } finally { $doc.Dispose() }
    } else {
        $v = ConvertFrom-Json -InputObject $Json # Windows PowerShell keeps strings as they are
        if ($AsHashtable) { $v = ConvertTo-RbHashtable $v }
    }
    if ($v -is [array]) { return , $v }
    $v
}

function ConvertFrom-RbJsonElement($e, [bool]$AsHashtable) {
    switch ([string]$e.ValueKind) {
        'Object' {
            if ($AsHashtable) { $h = @{} } else { $h = [ordered]@{} }
            foreach ($p in $e.EnumerateObject()) { $h[$p.Name] = ConvertFrom-RbJsonElement $p.Value $AsHashtable }
            if ($AsHashtable) { return $h }
            return [pscustomobject]$h
        }
        'Array' {
            $a = New-Object System.Collections.Generic.List[object]
            foreach ($x in $e.EnumerateArray()) { $a.Add((ConvertFrom-RbJsonElement $x $AsHashtable)) }
            return , $a.ToArray()
        }
        'String' { return $e.GetString() }
        'Number' {
            $l = 0L
            if ($e.TryGetInt64([ref]$l)) {
                if ($l -ge [int]::MinValue -and $l -le [int]::MaxValue) { return [int]$l }
                return $l
            }
            return $e.GetDouble()
        }
        'True' { return $true }
        'False' { return $false }
    }
    $null
}

# Nested objects become hashtables, which bind to [hashtable], [object] and
# [PSCustomObject] parameters alike.
function ConvertTo-RbHashtable($o) {
    if ($o -is [System.Management.Automation.PSCustomObject]) {
        $h = @{}
        foreach ($p in $o.PSObject.Properties) { $h[$p.Name] = ConvertTo-RbHashtable $p.Value }
        return $h
    }
    if ($o -is [array]) { return , @($o | ForEach-Object { ConvertTo-RbHashtable $_ }) }
    $o
}

function ConvertTo-RbErrorValue($e) {
    $pos = ''
    if ($e.InvocationInfo) { $pos = $e.InvocationInfo.PositionMessage }
    '{"message":' + (ConvertTo-RbJsonString $e.Exception.Message) +
    ',"exceptionType":' + (ConvertTo-RbJsonString $e.Exception.GetType().FullName) +
    ',"errorId":' + (ConvertTo-RbJsonString $e.FullyQualifiedErrorId) +
    ',"category":' + (ConvertTo-RbJsonString $e.CategoryInfo.ToString()) +
    ',"scriptStackTrace":' + (ConvertTo-RbJsonString $e.ScriptStackTrace) +
    ',"position":' + (ConvertTo-RbJsonString $pos) + '}'
}

# Send-RbError writes a record of the Error stream.
function Send-RbError($e) {
    $ErrorActionPreference = 'Continue'
    $rbState.LastError = $e
    Write-RbFrame 'Error' $e.ToString() (ConvertTo-RbErrorValue $e)
}

function Test-RbFormatData($o) {
    $o.GetType().FullName.StartsWith('Microsoft.PowerShell.Commands.Internal.Format.', [StringComparison]::Ordinal)
}

# Complete-RbFormat renders the collected output of Format-Table or
# Format-List as one text record: rendered object by object, the sequence
# from its start to its end falls apart.
function Complete-RbFormat {
    if ($rbFormat.Count -eq 0) { return }
    $items = $rbFormat.ToArray()
    $rbFormat.Clear()
    $text = ''
    try { $text = $items | Out-String -Width 250 } catch { }
    $text = ([string]$text -replace '^(\r?\n)+', '').TrimEnd()
    Write-RbFrame 'Output' $text
}

# Send-RbRecord writes one object of the runbook's merged output (every
# stream but Error, which arrives through Send-RbError).
function Send-RbRecord($o) {
    $ErrorActionPreference = 'Continue' # the runbook's global 'Stop' must not break the host
    if ($null -eq $o) { return }
    if ($o -is [System.Management.Automation.WarningRecord]) { Write-RbFrame 'Warning' $o.Message }
    elseif ($o -is [System.Management.Automation.VerboseRecord]) { Write-RbFrame 'Verbose' $o.Message }
    elseif ($o -is [System.Management.Automation.DebugRecord]) { Write-RbFrame 'Debug' $o.Message }
    elseif ($o -is [System.Management.Automation.InformationRecord]) { Write-RbFrame 'Information' ([string]$o.MessageData) }
    elseif (Test-RbFormatData $o) {
        $null = $rbFormat.Add($o)
        if ($o.GetType().Name -eq 'FormatEndData') { Complete-RbFormat }
    } else {
        Complete-RbFormat
        # An error record written to the Output stream (catch { $_ }) is output.
        if ($o -is [System.Management.Automation.ErrorRecord]) { Write-RbFrame 'Output' $o.ToString() (ConvertTo-RbErrorValue $o) }
        elseif ($o -is [string]) { Write-RbFrame 'Output' $o }
        elseif ($o -is [datetime]) { Write-RbFrame 'Output' ([string]$o) (ConvertTo-RbValue $o) }
        elseif ($o -is [ValueType]) { Write-RbFrame 'Output' ([string]$o) (ConvertTo-RbValue $o) }
        else { Write-RbFrame 'Output' (($o | Out-String -Width 250).Trim()) (ConvertTo-RbValue $o) }
    }
}

# Progress records cannot be redirected, so Write-Progress is replaced.
function global:Write-Progress {
    [CmdletBinding()]
    param([Parameter(Position = 0)][string]$Activity, [Parameter(Position = 1)][string]$Status,
        [Parameter(Position = 2)][int]$Id = 0, [int]$PercentComplete = -1, [int]$SecondsRemaining = -1,
        [string]$CurrentOperation, [int]$ParentId = -1, [switch]$Completed, [int]$SourceId = 0)
    if ($ProgressPreference -eq 'SilentlyContinue' -or $ProgressPreference -eq 'Ignore') { return }
    $text = $Activity
    if ($Status) { $text += ': ' + $Status }
    if ($PercentComplete -ge 0) { $text += ' (' + $PercentComplete + '%)' }
    if ($Completed) { $text += ' (completed)' }
    $done = 'false'
    if ($Completed) { $done = 'true' }
    $v = '{"activity":' + (ConvertTo-RbJsonString $Activity) + ',"status":' + (ConvertTo-RbJsonString $Status) +
        ',"id":' + $Id + ',"parentId":' + $ParentId + ',"percentComplete":' + $PercentComplete +
        ',"secondsRemaining":' + $SecondsRemaining + ',"currentOperation":' + (ConvertTo-RbJsonString $CurrentOperation) +
        ',"completed":' + $done + '}'
    Write-RbFrame 'Progress' $text $v
}

function ConvertFrom-RbBase64([string]$s) {
    [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($s))
}

# Add-RbMarks prepares the runbook file: it sets $global:RbStarted when the
# runbook's own code begins (so that a failure to bind its parameters or to
# meet its #Requires is told from an error inside it) and
# $global:RbExplicitExit when it runs "exit N" (so that only an explicit exit
# code, not $LASTEXITCODE of the last native command, fails the job). It
# inserts code into the lines and never adds one before the runbook's own
# lines, so line numbers in messages stay right. It returns $false when the
# file could not be changed, and throws when the runbook does not parse.
function Add-RbMarks([string]$Path) {
    $text = [System.IO.File]::ReadAllText($Path)
    $tokens = $null
    $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput($text, [ref]$tokens, [ref]$errors)
    if ($errors -and $errors.Count -gt 0) {
        $e = $errors[0]
        throw ('The runbook does not parse: line ' + $e.Extent.StartLineNumber + ', column ' + $e.Extent.StartColumnNumber + ': ' + $e.Message)
    }
    $inserts = New-Object System.Collections.Generic.List[object]
    $isExit = { param($a) $a -is [System.Management.Automation.Language.ExitStatementAst] -and $null -ne $a.Pipeline }
    foreach ($x in $ast.FindAll($isExit, $true)) {
        $inserts.Add([pscustomobject]@{ At = $x.Pipeline.Extent.StartOffset; Text = '$($global:RbExplicitExit = $true; ' })
        $inserts.Add([pscustomobject]@{ At = $x.Pipeline.Extent.EndOffset; Text = ')' })
    }
    $start = '$global:RbStarted = $true; '
    $block = $ast.BeginBlock
    if (-not $block) { $block = $ast.ProcessBlock }
    if (-not $block) { $block = $ast.EndBlock }
    if ($block -and -not $block.Unnamed) {
        $at = $block.Extent.StartOffset + $block.Extent.Text.IndexOf('{') + 1
        $inserts.Add([pscustomobject]@{ At = $at; Text = ' ' + $start })
    } elseif ($block -and $block.Statements.Count -gt 0) {
        $inserts.Add([pscustomobject]@{ At = $block.Statements[0].Extent.StartOffset; Text = $start })
    } else {
        $inserts.Add([pscustomobject]@{ At = $text.Length; Text = [Environment]::NewLine + $start })
    }
    $sb = [System.Text.StringBuilder]::new($text)
    # From the end backwards, so that the offsets still to apply stay valid.
    foreach ($ins in ($inserts | Sort-Object At -Descending)) { $null = $sb.Insert([int]$ins.At, [string]$ins.Text) }
    try { [System.IO.File]::WriteAllText($Path, $sb.ToString(), (New-Object System.Text.UTF8Encoding $true)) }
    catch { return $false }
    $true
}

# Azure Automation's asset cmdlets, served by the worker's per-job asset
# channel (RB_ASSET_URL, RB_ASSET_TOKEN), so existing runbooks run unchanged.
# They report failures with $PSCmdlet.WriteError, so -ErrorAction works as
# with any cmdlet (SilentlyContinue: no error, no value).

function New-RbAssetError([string]$Message, [string]$Id, [System.Management.Automation.ErrorCategory]$Category, $Target) {
    $ex = New-Object System.InvalidOperationException $Message
    if ($Category -eq [System.Management.Automation.ErrorCategory]::ObjectNotFound) {
        $ex = New-Object System.Management.Automation.ItemNotFoundException $Message
    }
    New-Object System.Management.Automation.ErrorRecord $ex, $Id, $Category, $Target
}

# Invoke-RbAsset calls the asset channel and returns @{ Value; Error }. JSON
# travels as UTF-8 both ways: Windows PowerShell would otherwise send and
# read it as ISO-8859-1.
function Invoke-RbAsset([string]$Method, [string]$Type, [string]$Name, $Body, [switch]$HasBody) {
    $ErrorActionPreference = 'Continue'
    $ProgressPreference = 'SilentlyContinue'
    $VerbosePreference = 'SilentlyContinue' # the channel's requests are not the runbook's records
    if (-not $env:RB_ASSET_URL -or -not $env:RB_ASSET_TOKEN) {
        return @{ Error = New-RbAssetError 'Automation assets are only available inside a Runbooker job.' 'AssetChannelUnavailable' ResourceUnavailable $Name }
    }
    $req = @{ Method = $Method; Uri = $env:RB_ASSET_URL + '/assets/' + $Type + '/' + [uri]::EscapeDataString($Name)
        Headers = @{ Authorization = 'Bearer ' + $env:RB_ASSET_TOKEN }; UseBasicParsing = $true; ErrorAction = 'Stop'
    }
    if ($HasBody) {
        $req.ContentType = 'application/json; charset=utf-8'
        $req.Body = [System.Text.Encoding]::UTF8.GetBytes((ConvertTo-RbJson $Body 10))
    }
    $resp = $null
    $failure = $null
    try { $resp = Invoke-WebRequest @req } catch { $failure = $_ }
    if ($failure) {
        $status = 0
        try { if ($failure.Exception.Response) { $status = [int]$failure.Exception.Response.StatusCode } } catch { }
        $msg = ''
        if ($failure.ErrorDetails) { $msg = $failure.ErrorDetails.Message }
        try { $msg = (ConvertFrom-RbJson $msg).error } catch { }
        if (-not $msg) { $msg = $failure.Exception.Message }
        $cat = [System.Management.Automation.ErrorCategory]::ConnectionError
        switch ($status) {
            404 { $cat = [System.Management.Automation.ErrorCategory]::ObjectNotFound }
            400 { $cat = [System.Management.Automation.ErrorCategory]::InvalidArgument }
            401 { $cat = [System.Management.Automation.ErrorCategory]::PermissionDenied }
            403 { $cat = [System.Management.Automation.ErrorCategory]::PermissionDenied }
            409 { $cat = [System.Management.Automation.ErrorCategory]::ResourceUnavailable }
        }
        return @{ Error = New-RbAssetError $msg ('Automation' + $Type + 'Failed') $cat $Name }
    }
    $text = [System.Text.Encoding]::UTF8.GetString($resp.RawContentStream.ToArray())
    if (-not $text.Trim()) { return @{ Value = $null } } # no body (a PUT): no value, and no JSON to read
    try { return @{ Value = (ConvertFrom-RbJson $text) } }
    catch { return @{ Error = New-RbAssetError ('The asset channel answered with invalid JSON: ' + $_.Exception.Message) 'AssetInvalidJson' InvalidData $Name } }
}

# Write-RbAssetValue writes a value as one object: an array, one element or
# none, stays an array.
function Write-RbAssetValue($v) {
    if ($v -is [array]) { Write-Output -NoEnumerate $v } else { $v }
}

function global:Get-AutomationVariable {
    [CmdletBinding()]
    param([Parameter(Mandatory = $true, Position = 0)][string]$Name)
    $r = Invoke-RbAsset 'GET' 'variable' $Name
    if ($r.Error) { $PSCmdlet.WriteError($r.Error); return }
    Write-RbAssetValue $r.Value
}

function global:Set-AutomationVariable {
    [CmdletBinding()]
    param([Parameter(Mandatory = $true, Position = 0)][string]$Name, [Parameter(Mandatory = $true, Position = 1)][AllowNull()]$Value)
    $r = Invoke-RbAsset 'PUT' 'variable' $Name $Value -HasBody
    if ($r.Error) { $PSCmdlet.WriteError($r.Error) }
}

function global:Get-AutomationPSCredential {
    [CmdletBinding()]
    param([Parameter(Mandatory = $true, Position = 0)][string]$Name)
    $r = Invoke-RbAsset 'GET' 'credential' $Name
    if ($r.Error) { $PSCmdlet.WriteError($r.Error); return }
    $c = $r.Value
    $pw = New-Object System.Security.SecureString
    foreach ($ch in ([string]$c.password).ToCharArray()) { $pw.AppendChar($ch) }
    $pw.MakeReadOnly()
    if (-not [string]$c.userName) {
        $PSCmdlet.WriteError((New-RbAssetError ('Credential ' + $Name + ' has no user name.') 'AutomationCredentialInvalid' InvalidData $Name))
        return
    }
    New-Object System.Management.Automation.PSCredential ([string]$c.userName), $pw
}

function global:Get-AutomationConnection {
    [CmdletBinding()]
    param([Parameter(Mandatory = $true, Position = 0)][string]$Name)
    $r = Invoke-RbAsset 'GET' 'connection' $Name
    if ($r.Error) { $PSCmdlet.WriteError($r.Error); return }
    $h = @{}
    if ($r.Value.fields) { foreach ($p in $r.Value.fields.PSObject.Properties) { $h[$p.Name] = $p.Value } }
    $h
}

# Get-AutomationCertificate returns an X509Certificate2: from PFX with its
# key; from PEM, the first CERTIFICATE block, with the private key from the
# same text on PowerShell 7.1 and later (Windows PowerShell cannot read a
# PEM key: such a certificate is better stored as PFX).
function global:Get-AutomationCertificate {
    [CmdletBinding()]
    param([Parameter(Mandatory = $true, Position = 0)][string]$Name)
    $r = Invoke-RbAsset 'GET' 'certificate' $Name
    if ($r.Error) { $PSCmdlet.WriteError($r.Error); return }
    $c = $r.Value
    $x509 = [System.Security.Cryptography.X509Certificates.X509Certificate2]
    $flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::Exportable
    $cert = $null
    $problem = $null
    try {
        if ($c.pfx) {
            $bytes = [Convert]::FromBase64String([string]$c.pfx)
            $cert = $x509::new($bytes, [string]$c.password, $flags)
        } else {
            $cert = Read-RbPemCertificate ([string]$c.pem) ([string]$c.password) $flags
        }
    } catch { $problem = $_.Exception.Message }
    if ($problem -or -not $cert) {
        if (-not $problem) { $problem = 'it holds no CERTIFICATE block' }
        $PSCmdlet.WriteError((New-RbAssetError ('Certificate ' + $Name + ' cannot be read: ' + $problem) 'AutomationCertificateInvalid' InvalidData $Name))
        return
    }
    $cert
}

function Read-RbPemCertificate([string]$Pem, [string]$Password, $Flags) {
    $x509 = [System.Security.Cryptography.X509Certificates.X509Certificate2]
    $m = [regex]::Match($Pem, '-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----')
    if (-not $m.Success) { return $null }
    $der = [Convert]::FromBase64String(($m.Groups[1].Value -replace '\s', ''))
    $key = [regex]::Match($Pem, '-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----')
    if (-not $key.Success) { return $x509::new([byte[]]$der) }
    # CreateFromPem takes spans, which PowerShell cannot pass; the file
    # variant takes paths. It reads the first certificate and the key.
    $fromFile = $x509.GetMethod('CreateFromPemFile', [type[]]@([string], [string]))
    if ($key.Groups[1].Value -eq 'ENCRYPTED ' -or -not $fromFile) {
        Write-Warning ('The private key of this PEM certificate cannot be read by PowerShell ' + $PSVersionTable.PSVersion +
            ' (an encrypted PEM key needs PFX; an unencrypted one needs PowerShell 7.1 or later): the certificate comes without it.')
        return $x509::new([byte[]]$der)
    }
    $tmp = [System.IO.Path]::GetTempFileName() # in the job's own directory, removed with it
    try {
        [System.IO.File]::WriteAllText($tmp, $Pem)
        $eph = $x509::CreateFromPemFile($tmp, $tmp)
        # A key read from PEM is ephemeral, which Windows TLS cannot use; a
        # PKCS#12 round trip makes it an ordinary one.
        $pfx = $eph.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pkcs12)
        return $x509::new([byte[]]$pfx, [string]'', $Flags)
    } finally { Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue }
}

# Run the runbook.
try {
    # Strings arrive base64-encoded; ConvertFrom-RbJson keeps the rest as sent.
    $rbIn = ConvertFrom-RbJson ([System.IO.File]::ReadAllText($ParamsPath)) -AsHashtable
    # Entries are enumerated, not read as .Keys: a parameter named Keys
    # would hide that property of a hashtable.
    $rbSplat = @{}
    if ($rbIn['values']) { foreach ($rbE in $rbIn['values'].GetEnumerator()) { $rbSplat[$rbE.Key] = $rbE.Value } }
    if ($rbIn['strings']) {
        foreach ($rbE in $rbIn['strings'].GetEnumerator()) {
            if ($rbE.Value -is [array]) { $rbSplat[$rbE.Key] = [string[]]@($rbE.Value | ForEach-Object { ConvertFrom-RbBase64 $_ }) }
            else { $rbSplat[$rbE.Key] = ConvertFrom-RbBase64 $rbE.Value }
        }
    }
    $rbMarked = Add-RbMarks $ScriptPath
} catch {
    Send-RbError $_
    Write-RbFrame 'Exception' $_.Exception.Message
    [Console]::Out.Flush()
    exit 1
}

# Azure's "Log verbose records" setting of the runbook (on unless the
# worker says otherwise).
$rbVerbose = $env:RB_LOG_VERBOSE -ne 'false'
Remove-Item -LiteralPath Env:RB_LOG_VERBOSE -ErrorAction SilentlyContinue
if ($rbVerbose) { $global:VerbosePreference = 'Continue' } else { $global:VerbosePreference = 'SilentlyContinue' }

# The runbook runs in a nested pipeline, outside any try: inside one (at any
# depth of the call stack) PowerShell makes every statement-terminating
# error (1/0, a .NET exception, an HTTP error of Invoke-RestMethod)
# terminate the whole script. A nested pipeline starts without that, so the
# runbook's errors behave as in a console; only Invoke() is wrapped. Error
# records arrive through the pipeline's Error stream as they are written;
# the other streams are merged into its output.
$global:LASTEXITCODE = 0
$global:RbStarted = $false
$global:RbExplicitExit = $false
$rbPs = [PowerShell]::Create([System.Management.Automation.RunspaceMode]::CurrentRunspace)
$rbPs.Streams.Error.add_DataAdded({
        param($rbSender, $rbEvent)
        try { Send-RbError $rbSender[$rbEvent.Index] } catch { }
    })
$null = $rbPs.AddScript('param($rbPath, $rbArgs) & $rbPath @rbArgs 3>&1 4>&1 5>&1 6>&1 | ForEach-Object { Send-RbRecord $_ }', $true)
$null = $rbPs.AddArgument($ScriptPath).AddArgument($rbSplat)
$rbFailure = $null
try { $null = $rbPs.Invoke() } catch { $rbFailure = $_ }
Complete-RbFormat

if ($rbFailure) {
    # Invoke() wraps the runbook's terminating error; report that error.
    $rbX = $rbFailure.Exception
    while ($rbX -is [System.Management.Automation.MethodInvocationException] -and $rbX.InnerException) { $rbX = $rbX.InnerException }
    $rbErr = $rbFailure
    if ($rbX -is [System.Management.Automation.IContainsErrorRecord] -and $rbX.ErrorRecord) { $rbErr = $rbX.ErrorRecord }
    Send-RbError $rbErr
    Write-RbFrame 'Exception' $rbErr.Exception.Message
    [Console]::Out.Flush()
    exit 1
}
if ($rbMarked -and -not $global:RbStarted) {
    # The runbook's code never ran: its parameters did not bind, or its
    # #Requires were not met. That error was reported as it happened.
    $rbMsg = 'The runbook could not be started.'
    if ($rbState.LastError) { $rbMsg = $rbState.LastError.Exception.Message }
    Write-RbFrame 'Exception' $rbMsg
    [Console]::Out.Flush()
    exit 1
}
$rbCode = 0
if ($global:RbExplicitExit -or -not $rbMarked) {
    if ($global:LASTEXITCODE -is [int]) { $rbCode = $global:LASTEXITCODE }
}
[Console]::Out.Flush()
exit $rbCode
