import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EventView } from '../../src/eval/event.js';
import { eventFields, flattenEvent, shapeOf } from '../../src/eval/shape.js';

const SAMPLE = new URL('../../../shared/sigmahq/regression/0b9ad457-2554-44c1-82c2-d56a99c42377.jsonl', import.meta.url);

describe('event shapes', () => {
  it('takes a flat event as it is', () => {
    const ev = { Image: 'C:\\x.exe', nested: { a: 1 } };
    expect(shapeOf(ev)).toBe('flat');
    expect(flattenEvent(ev)).toBe(ev);
  });

  it('flattens evtx_dump JSON: System values and attributes, EventData by name', () => {
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(readFileSync(SAMPLE, 'utf8').split('\n')[0]!) as Record<string, unknown>;
    } catch {
      return; // the shared corpus is not available
    }
    expect(shapeOf(raw)).toBe('windows');
    const ev = flattenEvent(raw);
    expect(ev).toMatchObject({
      EventID: 11,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      Computer: 'ar-win-dc.attackrange.local',
      Provider_Name: 'Microsoft-Windows-Sysmon',
      Provider_Guid: '5770385F-C22A-43E0-BF4C-06F5698FFBD9',
      Execution_ProcessID: 3308,
      Execution_ThreadID: 4008,
      TimeCreated_SystemTime: '2025-10-24T23:34:34.640670Z',
      Security_UserID: 'S-1-5-18',
      Correlation: null,
      Image: 'C:\\Users\\Administrator\\Desktop\\AnyDesk.exe',
      TargetFilename: 'C:\\Users\\Administrator\\AppData\\Roaming\\AnyDesk\\service.conf.new',
      ProcessId: 7760,
    });
    expect(ev).not.toHaveProperty('Event');
  });

  it('reads #text elements and EventID with attributes', () => {
    const ev = flattenEvent({
      Event: {
        System: { EventID: { '#text': 4688, '#attributes': { Qualifiers: 0 } }, Channel: { '#text': 'Security' }, Keywords: '0x8020000000000000' },
        EventData: { NewProcessName: { '#text': 'C:\\Windows\\System32\\cmd.exe' }, CommandLine: 'cmd /c whoami' },
      },
    });
    expect(ev).toEqual({
      EventID: 4688,
      EventID_Qualifiers: 0,
      Channel: 'Security',
      Keywords: '0x8020000000000000',
      NewProcessName: 'C:\\Windows\\System32\\cmd.exe',
      CommandLine: 'cmd /c whoami',
    });
  });

  it('reads EventData given as a list of Data elements', () => {
    const system = { EventID: 7045, Channel: 'System' };
    const asList = flattenEvent({
      Event: { System: system, EventData: [{ Name: 'ServiceName', '#text': 'evil' }, { '#attributes': { Name: 'ImagePath' }, '#text': 'C:\\t\\x.exe' }] },
    });
    const asData = flattenEvent({
      Event: { System: system, EventData: { Data: [{ '@Name': 'ServiceName', '#text': 'evil' }, { '#attributes': { Name: 'ImagePath' }, '#text': 'C:\\t\\x.exe' }] } },
    });
    const expected = { EventID: 7045, Channel: 'System', ServiceName: 'evil', ImagePath: 'C:\\t\\x.exe' };
    expect(asList).toEqual(expected);
    expect(asData).toEqual(expected);
  });

  it('keeps unnamed data as Data, and reads UserData children', () => {
    const ev = flattenEvent({
      Event: {
        System: { EventID: 400, Channel: 'Windows PowerShell' },
        EventData: { Data: { '#text': ['Available', 'None', 'HostApplication=powershell -nop'] } },
        UserData: { LogFileCleared: { '#attributes': { xmlns: 'x' }, SubjectUserName: 'bob', SubjectDomainName: { '#text': 'CORP' } } },
      },
    });
    expect(ev).toEqual({
      EventID: 400,
      Channel: 'Windows PowerShell',
      Data: ['Available', 'None', 'HostApplication=powershell -nop'],
      SubjectUserName: 'bob',
      SubjectDomainName: 'CORP',
    });
  });

  it('lets System names win a collision and keeps keys beside Event', () => {
    const ev = flattenEvent({ Event: { System: { Channel: 'Security', EventID: 1 }, EventData: { Channel: 'spoofed', X: 'y' } }, collector: 'wec01' });
    expect(ev).toEqual({ Channel: 'Security', EventID: 1, X: 'y', collector: 'wec01' });
  });

  it('gives the engine the same fields as a map, which rules read as they read the object', () => {
    const raw = {
      Event: {
        System: { EventID: { '#text': 4688 }, Channel: 'Security', __proto__x: 1 },
        EventData: { Data: [{ '#attributes': { Name: 'Obj' }, '#text': null }], 'a.b': 'dotted key', Nested: 'n' },
        UserData: { Wrap: { Inner: { c: { d: 'deep' } } } },
      },
      Extra: 'kept',
    };
    const fields = eventFields(raw);
    expect(Object.fromEntries(fields)).toEqual(flattenEvent(raw));
    expect([...fields.keys()]).toEqual(Object.keys(flattenEvent(raw)));
    const fromMap = new EventView(fields);
    const fromObject = new EventView(flattenEvent(raw));
    for (const name of ['EventID', 'Channel', 'a.b', 'Inner.c.d', 'Inner.c', 'Inner.x', 'Extra', 'Missing', 'Nested.x', 'Obj']) {
      expect(fromMap.get(name), name).toEqual(fromObject.get(name));
    }
    expect(fromMap.get('Inner.c.d')).toBe('deep');
    expect(fromMap.allTexts(true)).toEqual(fromObject.allTexts(true));
    // Detections hand rules' view of the event to callers: still a plain object.
    expect(fromMap.raw).toEqual(flattenEvent(raw));
    // A flat event's map is a copy: the engine may change it.
    const flat = { Image: 'x' };
    eventFields(flat).set('Image', 'y');
    expect(flat.Image).toBe('x');
    // Inherited enumerable properties are not fields (field lookup on an object never saw them).
    const inherits = Object.create({ Inherited: 'no' }) as Record<string, unknown>;
    inherits.Own = 'yes';
    expect([...eventFields(inherits).keys()]).toEqual(['Own']);
  });
});
