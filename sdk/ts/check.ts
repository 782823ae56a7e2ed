// Compile-time (and, when BASE_URL is set, run-time) check of the types openapi-typescript
// generates from the server's /openapi.json, used through openapi-fetch.
//
// `tsc --noEmit` (strict) must pass: the calls below are the scenario of sdk/python/smoke.py,
// written against the generated `paths`, so a contract change that breaks a client's code
// breaks this file. scripts/sdk-check.sh also compiles and runs it against the live server
// with BASE_URL, OWNER_TOKEN, COACH_TOKEN, ATHLETE_TOKEN and ATHLETE_ID set.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, operations, paths } from "./generated/openapi.js";

type Schemas = components["schemas"];

// ---- type-level checks: the generated types are precise, not `any`/`unknown`.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}
assertType<Equal<operations["createCalendar"]["responses"][201]["content"]["application/json"], Schemas["Calendar"]>>();
assertType<Equal<Schemas["Calendar"]["id"], string>>();
assertType<Equal<Schemas["BookingStatus"], "Accepted" | "Rejected" | "Pending" | "Canceled" | "InDispute" | "DisputeDone">>();
assertType<Equal<operations["getBookings"]["responses"][200]["content"]["application/json"], Schemas["Booking"][]>>();
assertType<Equal<operations["bookEvents"]["responses"][201]["content"]["application/json"], Schemas["BookingOrder"]>>();
assertType<Equal<Schemas["CoachEvent"]["canceledAt"], string | null>>();
// @ts-expect-error getBookings has no `calendarId` query parameter
const _unknownParam: NonNullable<operations["getBookings"]["parameters"]["query"]> = { calendarId: "x" };
void _unknownParam;

// ---- the scenario
function fail(step: string, msg: string): never {
  throw new Error(`ts smoke: FAIL at ${step}: ${msg}`);
}

function check(step: string, cond: boolean, msg: string): asserts cond {
  if (!cond) fail(step, msg);
}

/** The body of a response with the expected status (openapi-fetch puts 2xx bodies in `data`). */
function expect<D>(step: string, r: { data?: D; error?: unknown; response: Response }, status: number): D {
  if (r.response.status !== status || r.data === undefined) {
    fail(step, `status ${r.response.status}, expected ${status}: ${JSON.stringify(r.error ?? r.data)}`);
  }
  console.log(`ts smoke: ${step}`);
  return r.data;
}

function bearer(token: string): Middleware {
  return {
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
}

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/** A client for `baseUrl` signed in with `token` (none: the public operations). */
function client(baseUrl: string, token?: string) {
  const c = createClient<paths>({ baseUrl });
  if (token !== undefined) c.use(bearer(token));
  return c;
}

/** "HH:MM:SS+00:00", the wall-clock `Time` of an instant in UTC. */
function utcTime(t: Date): Schemas["Time"] {
  return `${t.toISOString().slice(11, 19)}+00:00`;
}

export async function scenario(baseUrl: string): Promise<void> {
  const owner = client(baseUrl, env("OWNER_TOKEN"));
  const coach = client(baseUrl, env("COACH_TOKEN"));
  const athlete = client(baseUrl, env("ATHLETE_TOKEN"));
  const athleteId: Schemas["UserId"] = env("ATHLETE_ID");
  const anon = client(baseUrl);

  const cal = expect("createCalendar", await owner.POST("/calendars", { body: { name: "SDK smoke (ts)" } }), 201);
  check("createCalendar", cal.name === "SDK smoke (ts)", `name ${cal.name}`);

  const nineToFive: Schemas["WorkingHourSlot"][] = [{ start: "09:00", end: "17:00" }];
  const link = expect(
    "createBookingLink",
    await owner.POST("/calendars/{id}/booking-link", {
      params: { path: { id: cal.id } },
      body: {
        duration_minutes: 30,
        buffer_minutes: 10,
        timezone: "Europe/Berlin",
        working_hours: { mon: nineToFive, tue: nineToFive, wed: nineToFive, thu: nineToFive, fri: nineToFive },
      },
    }),
    200,
  );
  check("createBookingLink", link.token.length > 0, "empty token");

  const day = 24 * 3600 * 1000;
  const today = new Date(new Date().toISOString().slice(0, 10) + "T00:00:00Z");
  const monday = new Date(today.getTime() + (((8 - today.getUTCDay()) % 7) + 7) * day); // a Monday 8-14 days away
  const range = { start: monday.toISOString(), end: new Date(monday.getTime() + 7 * day).toISOString() };
  const avail = expect(
    "getBookingAvailability",
    await anon.GET("/booking/{token}/availability", { params: { path: { token: link.token }, query: range } }),
    200,
  );
  const first = avail.slots[0];
  check("getBookingAvailability", first !== undefined, "no free slot in a working week");
  check(
    "getBookingAvailability",
    Date.parse(first.end) - Date.parse(first.start) === 30 * 60 * 1000,
    `slot ${first.start}..${first.end}`,
  );

  const reserved = expect(
    "reserveBookingSlot",
    await anon.POST("/booking/{token}/reserve", {
      params: { path: { token: link.token } },
      body: { name: "Visitor", email: "visitor@example.com", slot_start: first.start, slot_end: first.end },
    }),
    200,
  );
  check("reserveBookingSlot", reserved.ok && reserved.event.source === "reservation", JSON.stringify(reserved));
  check("reserveBookingSlot", reserved.event.calendar_id === cal.id, "event on another calendar");

  const start = new Date(Math.floor((Date.now() + 3 * day) / 3600_000) * 3600_000);
  const end = new Date(start.getTime() + 3600_000);
  const ev = expect(
    "createCoachEvent",
    await coach.POST("/coach-events", {
      body: {
        sportId: crypto.randomUUID(),
        startAt: start.toISOString(),
        endAt: end.toISOString(),
        timeslot: {
          startTime: utcTime(start),
          endTime: utcTime(end),
          numberOfParticipants: 2,
          slotType: "Offline",
          ageFrom: 18,
          ageTo: 99,
          duration: 60,
          price: 1500,
          priceCurrency: "RUB",
          paymentMethod: "Cash",
        },
      },
    }),
    201,
  );
  check("createCoachEvent", ev.placesLeft === 2 && ev.status === "Scheduled", JSON.stringify(ev));

  const order = expect(
    "bookEvents",
    await athlete.POST("/bookings", {
      body: { userId: athleteId, eventIds: [ev.eventId], paymentMethod: { type: "Cash" } },
    }),
    201,
  );
  check("bookEvents", order.bookings.length === 1 && order.bookings[0]?.eventId === ev.eventId, JSON.stringify(order));

  const mine = expect(
    "getBookings(userId)",
    await athlete.GET("/bookings", { params: { query: { userId: athleteId } } }),
    200,
  );
  check(
    "getBookings(userId)",
    mine.length === 1 && mine[0]?.bookingId === order.bookings[0]?.bookingId,
    JSON.stringify(mine),
  );
  console.log("ts smoke: OK");
}

const base = process.env["BASE_URL"];
if (base) {
  scenario(base).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
